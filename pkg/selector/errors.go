package selector

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// ParseError reports why a selector could not be parsed. Every syntax error
// returned by Parse and Validate is a *ParseError (use errors.As when it has
// been wrapped by a caller).
type ParseError struct {
	// Input is the whole selector text that was being parsed.
	Input string
	// Pos is the byte offset in Input where the problem was found.
	Pos int
	// Expected describes what the grammar allowed at Pos, ready for display,
	// e.g. `"==", "!=", "in", ...` or `a quoted string`.
	Expected string
	// Found describes what was at Pos instead, ready for display: a quoted
	// token such as `"="`, `label "b"`, `end of input` or, for over-long
	// labels, `label too long (513 characters)`.
	Found string
}

// Error formats the error as
//
//	selector "a = 'b'": at position 2: expected "==", "!=", ..., found "="
func (e *ParseError) Error() string {
	return fmt.Sprintf("selector %q: at position %d: expected %s, found %s", e.Input, e.Pos, e.Expected, e.Found)
}

// Descriptions of what the grammar expects, shared by lexer and parser so that
// the same situation always produces the same message.
const (
	expectTerm       = `a label, "!", "(", "has(label)", "all()" or "global()"`
	expectOperator   = `"==", "!=", "in", "not in", "contains", "starts with" or "ends with"`
	expectString     = `a quoted string`
	expectSetStart   = `"{"`
	expectSetMember  = `a quoted string or "}"`
	expectSetNext    = `"," or "}"`
	expectEnd        = `"&&", "||" or end of input`
	expectCloseParen = `"&&", "||" or ")"`
	expectLabel      = `a label`
	expectHasClose   = `")" after the label in has(...)`
	expectEmptyParen = `")"`
	endOfInput       = "end of input"
)

// maxShown bounds how much of an offending token is copied into an error
// message, so that a megabyte-long label does not produce a megabyte error.
const maxShown = 40

// shorten truncates s for display, keeping it valid UTF-8 where it was.
func shorten(s string) string {
	if len(s) <= maxShown {
		return s
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// describeAt describes the input found at byte offset i, for errors raised
// before a token could be formed.
func describeAt(s string, i int) string {
	if i >= len(s) {
		return endOfInput
	}
	if n := identLen(s[i:]); n > 0 {
		return strconv.Quote(shorten(s[i : i+n]))
	}
	_, size := utf8.DecodeRuneInString(s[i:])
	return strconv.Quote(s[i : i+size])
}
