package cli

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// quote renders a value read from the manifests (a name, a namespace, a label) for text output. A
// value made only of printable characters without spaces is printed as is; anything else is
// printed Go-quoted, so that a newline or an escape sequence in a name cannot forge or hide a line
// of the output (issue 13 item 12: a policy named "x\nFinal verdict: ALLOWED").
func quote(s string) string {
	if s == "" {
		return `""`
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || r == '"' || r == '\\' {
			return strconv.Quote(s)
		}
	}
	return s
}

// refText renders a namespace/name reference for text output, each part quoted when needed.
func refText(r engine.EndpointRef) string { return quote(r.Namespace) + "/" + quote(r.Name) }

// escapeLines is escapeControl applied to each line of a multi-line message (errors.Join).
func escapeLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = escapeControl(l)
	}
	return strings.Join(lines, "\n")
}

// maxEcho is the most of a user-supplied value a message repeats: a 1 MB selector is named, not
// printed.
const maxEcho = 512

// clip shortens a message that echoes a long value.
func clip(s string) string {
	if len(s) <= maxEcho {
		return s
	}
	cut := maxEcho
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s... (%d more bytes)", s[:cut], len(s)-cut)
}

// escapeControl writes every control or non-printable character of a line of output as its Go
// escape (a newline as \n, ESC as \x1b), keeping everything else: the last guard that no value
// from the manifests, wherever it is echoed (messages, field paths, errors), starts a new line or
// drives the terminal.
func escapeControl(s string) string {
	clean := true
	for _, r := range s {
		if !unicode.IsPrint(r) && r != ' ' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsPrint(r) || r == ' ' {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}
