package cli

import (
	"strconv"
	"unicode"
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
