package manifest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeText returns a file's text as UTF-8, decoding UTF-16 and UTF-32 by their byte order mark
// as kubectl's reader does (PowerShell's ">" writes UTF-16LE with a BOM), and dropping a UTF-8 BOM.
//
// Without a BOM the text is taken as UTF-8; a file that is not valid UTF-8 is refused here, with
// its first bad offset, rather than left to the YAML parser's less precise message. Malformed
// UTF-16 or UTF-32 (an odd length, an unpaired surrogate, a code point out of range) is refused
// too: replacing it with U+FFFD, as lenient decoders do, could change a name or a selector.
func decodeText(data []byte) ([]byte, error) {
	switch {
	// UTF-32 first: its little-endian BOM starts with UTF-16LE's.
	case bytes.HasPrefix(data, []byte{0x00, 0x00, 0xFE, 0xFF}):
		return decodeUTF32(data[4:], binary.BigEndian, "UTF-32BE")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE, 0x00, 0x00}):
		return decodeUTF32(data[4:], binary.LittleEndian, "UTF-32LE")
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return decodeUTF16(data[2:], binary.BigEndian, "UTF-16BE")
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		return decodeUTF16(data[2:], binary.LittleEndian, "UTF-16LE")
	}
	data = bytes.TrimPrefix(data, utf8BOM)
	if !utf8.Valid(data) {
		return nil, fmt.Errorf("not valid UTF-8 at byte %d: save the file as UTF-8, or as UTF-16 or UTF-32 with a byte order mark", firstInvalidUTF8(data))
	}
	return data, nil
}

func firstInvalidUTF8(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(data)
}

func decodeUTF16(data []byte, order binary.ByteOrder, name string) ([]byte, error) {
	if len(data)%2 != 0 {
		return nil, fmt.Errorf("%s text (by its byte order mark) has an odd number of bytes", name)
	}
	units := make([]uint16, len(data)/2)
	for i := range units {
		units[i] = order.Uint16(data[2*i:])
	}
	out := make([]byte, 0, len(units))
	for i := 0; i < len(units); i++ {
		u := units[i]
		switch {
		case utf16.IsSurrogate(rune(u)):
			if i+1 >= len(units) {
				return nil, fmt.Errorf("%s text: unpaired surrogate at byte %d", name, 2*i+2)
			}
			r := utf16.DecodeRune(rune(u), rune(units[i+1]))
			if r == utf8.RuneError {
				return nil, fmt.Errorf("%s text: unpaired surrogate at byte %d", name, 2*i+2)
			}
			out = utf8.AppendRune(out, r)
			i++
		default:
			out = utf8.AppendRune(out, rune(u))
		}
	}
	return out, nil
}

func decodeUTF32(data []byte, order binary.ByteOrder, name string) ([]byte, error) {
	if len(data)%4 != 0 {
		return nil, fmt.Errorf("%s text (by its byte order mark) has a length that is not a multiple of 4", name)
	}
	out := make([]byte, 0, len(data)/4)
	for i := 0; i < len(data); i += 4 {
		u := order.Uint32(data[i:])
		if u > utf8.MaxRune || !utf8.ValidRune(rune(u)) {
			return nil, fmt.Errorf("%s text: invalid code point %#x at byte %d", name, u, i+4)
		}
		r := rune(u)
		out = utf8.AppendRune(out, r)
	}
	return out, nil
}

// errNotJSONStream says a document that starts with "{" is not JSON (it is YAML flow style).
var errNotJSONStream = errors.New("not a JSON stream")
