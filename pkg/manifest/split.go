package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// chunk is one YAML document of a file: its text and the 1-based line of the file where it starts.
type chunk struct {
	text      []byte
	firstLine int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// splitDocuments cuts a YAML stream into documents on "---" marker lines and "..." document-end
// lines, and drops documents that hold only whitespace and comments.
//
// We split ourselves instead of letting a YAML parser walk the stream because the parser stops at
// the first syntax error, and because we need each document's first line to turn the parser's
// document-relative line numbers into file line numbers. A marker line is "---" at column 0,
// followed by nothing, whitespace or a comment, exactly where YAML (and kubectl's reader) ends a
// document; a "---" inside a block scalar is indented and therefore never a marker.
func splitDocuments(data []byte) []chunk {
	var (
		out   []chunk
		cur   []byte
		start = 1
		line  = 0
	)
	flush := func() {
		if hasContent(cur) {
			out = append(out, chunk{text: cur, firstLine: start})
		}
		cur = nil
	}
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i+1], data[i+1:]
		} else {
			l, data = data, nil
		}
		if isDocumentMarker(l) {
			flush()
			start = line
			// Content after the marker ("--- {a: 1}") starts the next document; blank the marker
			// so that columns, and therefore the parser's messages, stay true.
			cur = append([]byte("   "), l[3:]...)
			continue
		}
		if isDocumentEnd(l) {
			// "..." ends the document; whatever follows is the next one, even without "---"
			// (YAML 1.2 bare documents). Blank the line so that line numbers stay true.
			flush()
			start = line
			cur = []byte{'\n'}
			continue
		}
		cur = append(cur, l...)
	}
	flush()
	return out
}

// isDocumentMarker reports whether a line starts with a "---" document marker: "---" at column 0
// followed by the end of the line or whitespace ("----" and "---x" are ordinary content).
func isDocumentMarker(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("---")) {
		return false
	}
	if len(l) == 3 {
		return true
	}
	switch l[3] {
	case ' ', '\t', '\r', '\n':
		return true
	}
	return false
}

// hasContent reports whether a document holds anything but whitespace and comments.
func hasContent(doc []byte) bool {
	for len(doc) > 0 {
		var l []byte
		if i := bytes.IndexByte(doc, '\n'); i >= 0 {
			l, doc = doc[:i], doc[i+1:]
		} else {
			l, doc = doc, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 || l[0] == '#' {
			continue
		}
		// A "..." document-end marker alone carries no content either.
		if bytes.Equal(l, []byte("...")) {
			continue
		}
		return true
	}
	return false
}

// isDocumentEnd reports whether a line is a "..." document-end marker: "..." at column 0 followed
// by the end of the line, whitespace or a comment.
func isDocumentEnd(l []byte) bool {
	if !bytes.HasPrefix(l, []byte("...")) {
		return false
	}
	if len(l) > 3 && l[3] != ' ' && l[3] != '\t' && l[3] != '\r' && l[3] != '\n' {
		return false // "....", "...x": content
	}
	rest := bytes.TrimSpace(l[3:])
	return len(rest) == 0 || rest[0] == '#'
}

// splitJSONStream cuts a document that starts with "{" into the JSON objects it holds one after
// another, as `jq -c` and pretty printers write them, the way kubectl's reader reads a stream that
// starts with "{". It returns errNotJSONStream when the first value is not JSON (YAML flow style,
// "{a: 1}"), so the caller parses the document as YAML; a later value that is not JSON is an error
// with its line, because dropping it would drop an object.
func splitJSONStream(c chunk) ([]chunk, error) {
	start := jsonStart(c.text)
	if start < 0 {
		return nil, errNotJSONStream
	}
	dec := json.NewDecoder(bytes.NewReader(c.text[start:]))
	var out []chunk
	for {
		before := start + int(dec.InputOffset())
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			if len(out) == 0 {
				// Perhaps YAML flow style; should YAML refuse it too, the JSON error is the one
				// to show, with its exact line and column.
				var se *json.SyntaxError
				if errors.As(err, &se) {
					at := before + max(int(se.Offset)-1, 0) // Offset is just past the offending byte
					return nil, &notJSONError{line: c.firstLine + bytes.Count(c.text[:min(at, len(c.text))], []byte{'\n'}), col: column(c.text, at), err: se}
				}
				return nil, errNotJSONStream
			}
			at := before + leadingSpace(c.text[before:])
			return nil, &jsonStreamError{read: len(out), line: c.firstLine + bytes.Count(c.text[:at], []byte{'\n'}), err: err}
		}
		end := start + int(dec.InputOffset())
		valueStart := before + leadingSpace(c.text[before:end])
		// Keep the text from the start of its line, so that columns in messages stay true.
		lineStart := bytes.LastIndexByte(c.text[:valueStart], '\n') + 1
		text := append(bytes.Repeat([]byte{' '}, valueStart-lineStart), c.text[valueStart:end]...)
		text = append(text, '\n')
		out = append(out, chunk{text: text, firstLine: c.firstLine + bytes.Count(c.text[:valueStart], []byte{'\n'})})
	}
}

// notJSONError is errNotJSONStream with the JSON parser's reason, for a document that YAML
// cannot read either.
type notJSONError struct {
	line, col int
	err       error
}

func (e *notJSONError) Error() string {
	return fmt.Sprintf("invalid JSON at column %d: %v", e.col, e.err)
}

func (e *notJSONError) Is(target error) bool { return target == errNotJSONStream }

// column is the 1-based column of offset at in text.
func column(text []byte, at int) int {
	at = min(at, len(text))
	return at - (bytes.LastIndexByte(text[:at], '\n') + 1) + 1
}

// jsonStreamError is a value after the first of a JSON stream that is not JSON.
type jsonStreamError struct {
	read int // objects read before it
	line int
	err  error
}

func (e *jsonStreamError) Error() string {
	return fmt.Sprintf("invalid JSON after the previous object of the stream: %v", e.err)
}

// jsonStart returns the offset of the "{" that opens a document, skipping whitespace and YAML
// comment lines, or -1 when the document does not start with "{".
func jsonStart(text []byte) int {
	i := 0
	for i < len(text) {
		switch text[i] {
		case ' ', '\t', '\r', '\n':
			i++
		case '#':
			nl := bytes.IndexByte(text[i:], '\n')
			if nl < 0 {
				return -1
			}
			i += nl + 1
		case '{':
			return i
		default:
			return -1
		}
	}
	return -1
}

func leadingSpace(b []byte) int {
	return len(b) - len(bytes.TrimLeft(b, " \t\r\n"))
}
