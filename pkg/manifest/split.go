package manifest

import (
	"bytes"
)

// chunk is one YAML document of a file: its text and the 1-based line of the file where it starts.
type chunk struct {
	text      []byte
	firstLine int
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// splitDocuments cuts a YAML stream into documents on "---" marker lines and drops documents that
// hold only whitespace and comments.
//
// We split ourselves instead of letting a YAML parser walk the stream because the parser stops at
// the first syntax error, and because we need each document's first line to turn the parser's
// document-relative line numbers into file line numbers. A marker line is "---" at column 0,
// followed by nothing, whitespace or a comment, exactly where YAML (and kubectl's reader) ends a
// document; a "---" inside a block scalar is indented and therefore never a marker.
func splitDocuments(data []byte) []chunk {
	data = bytes.TrimPrefix(data, utf8BOM)
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
