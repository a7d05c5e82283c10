package selector

import "strings"

// IsGlobal reports whether s is exactly the single token global(), with
// optional spaces/TABs around it and inside the parentheses ("global( )").
// That is the only form in which an EntityRule namespaceSelector may use
// global() (docs/semantics.md §3.1 R9): "!global()", "(global())",
// "global() && all()" and `a == "global()"` are all not global in this sense.
func IsGlobal(s string) bool {
	l := lexer{in: s}
	tok, err := l.next()
	if err != nil || tok.kind != tokGlobal {
		return false
	}
	tok, err = l.next()
	return err == nil && tok.kind == tokEOF
}

// ContainsGlobal reports whether s contains the text "global(" anywhere,
// including inside a string literal. It is the raw substring test of Calico's
// CEL rule that keeps global() out of every selector field other than an
// EntityRule namespaceSelector (docs/semantics.md §3.1 S2, R9).
func ContainsGlobal(s string) bool {
	return strings.Contains(s, "global(")
}
