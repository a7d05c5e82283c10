package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

// finding is one line of lint or convert output:
//
//	[warning: ]FILE:DOC_INDEX: KIND/NAMESPACE/NAME: FIELD_PATH: message
//
// KIND/NAME when the object has no namespace; the field part is left out when the finding is about
// the whole object.
type finding struct {
	source  manifest.Source
	kind    string
	ns      string
	name    string
	field   string
	message string
	// line is the file line of the field, 0 when unknown; text output appends it to the message.
	line    int
	warning bool
}

// findingJSON is a finding in -o json and -o yaml.
type findingJSON struct {
	File      string `json:"file"`
	Document  int    `json:"document"`
	Line      int    `json:"line,omitempty"`
	Severity  string `json:"severity"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
	Field     string `json:"field,omitempty"`
	Message   string `json:"message"`
}

func (f finding) structured() findingJSON {
	sev := "error"
	if f.warning {
		sev = "warning"
	}
	return findingJSON{File: f.source.File, Document: f.source.Index, Line: f.line, Severity: sev, Kind: f.kind,
		Namespace: f.ns, Name: f.name, Field: f.field, Message: f.message}
}

func newFindingAt(d *manifest.Document, field, message string, line int, warning bool) finding {
	f := newFinding(d, field, message, warning)
	f.line = line
	return f
}

func newFinding(d *manifest.Document, field, message string, warning bool) finding {
	return finding{source: d.Source, kind: d.Kind, ns: d.Namespace, name: d.Name, field: field, message: message, warning: warning}
}

func (f finding) String() string {
	var b strings.Builder
	if f.warning {
		b.WriteString("warning: ")
	}
	b.WriteString(f.source.String())
	b.WriteString(": ")
	b.WriteString(objectRef(f.kind, f.ns, f.name))
	b.WriteString(": ")
	if f.field != "" {
		b.WriteString(escapeControl(f.field))
		b.WriteString(": ")
	}
	b.WriteString(escapeControl(withLine(f.message, f.line)))
	return b.String()
}

// objectRef names an object as KIND/NAMESPACE/NAME, or KIND/NAME without a namespace.
func objectRef(kind, ns, name string) string {
	if name == "" {
		name = "<unnamed>"
	} else {
		name = quote(name)
	}
	if ns == "" {
		return quote(kind) + "/" + name
	}
	return quote(kind) + "/" + quote(ns) + "/" + name
}

// withLine appends a file line to a message when it is known.
func withLine(message string, line int) string {
	if line <= 0 {
		return message
	}
	return fmt.Sprintf("%s (line %d)", message, line)
}

func writeFindings(w io.Writer, fs []finding) {
	for _, f := range fs {
		fmt.Fprintln(w, f.String())
	}
}

// fileArgument is how a source file is passed back on a command line.
func fileArgument(src manifest.Source) string {
	if src.File == manifest.StdinName {
		return "-"
	}
	return src.File
}
