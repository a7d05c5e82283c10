package selector

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxLabelLength is the longest label (key) the language accepts, as in
// Calico's tokenizer.
const MaxLabelLength = 512

type tokenKind uint8

const (
	tokEOF tokenKind = iota
	tokInvalid
	tokLabel  // val = label
	tokString // val = literal contents, without quotes
	tokLParen
	tokRParen
	tokLBrace
	tokRBrace
	tokComma
	tokEq
	tokNe
	tokNot
	tokAnd
	tokOr
	tokIn
	tokNotIn
	tokContains
	tokStartsWith
	tokEndsWith
	tokHas // val = label inside has(...)
	tokAll
	tokGlobal
)

// token is one lexeme. raw is the source text it was read from, kept for
// error messages.
type token struct {
	kind tokenKind
	pos  int
	val  string
	raw  string
}

// describe renders the token for the Found field of a ParseError.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return endOfInput
	case tokLabel:
		return "label " + strconv.Quote(shorten(t.val))
	case tokString:
		return "string " + strconv.Quote(shorten(t.raw))
	default:
		return strconv.Quote(shorten(t.raw))
	}
}

// lexer produces tokens on demand. It is context sensitive in exactly one
// way, as Calico's tokenizer is: operator words are recognised only directly
// after a label, so that "in", "contains", ... remain usable as label names at
// the start of a term.
//
// Lone '=', '&', '|' and characters outside the language are returned as
// tokInvalid rather than as errors, so that the parser can say what it
// expected at that point; the errors the lexer raises itself are those that
// no grammar context can explain better (unterminated strings, label length,
// malformed has(/all(/global().
type lexer struct {
	in         string
	pos        int
	afterLabel bool // previous token was tokLabel
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func isIdentChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '_' || c == '.' || c == '/' || c == '-'
}

// identLen returns the length of the run of label characters at the start of s.
func identLen(s string) int {
	i := 0
	for i < len(s) && isIdentChar(s[i]) {
		i++
	}
	return i
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.in) && isSpace(l.in[l.pos]) {
		l.pos++
	}
}

func (l *lexer) errAt(pos int, expected, found string) *ParseError {
	return &ParseError{Input: l.in, Pos: pos, Expected: expected, Found: found}
}

// next returns the next token, or a *ParseError for input no parser context
// could make valid.
func (l *lexer) next() (token, error) {
	tok, err := l.scan()
	l.afterLabel = err == nil && tok.kind == tokLabel
	return tok, err
}

func (l *lexer) scan() (token, error) {
	l.skipSpace()
	start := l.pos
	if start >= len(l.in) {
		return token{kind: tokEOF, pos: start}, nil
	}
	rest := l.in[start:]
	punct := func(k tokenKind, n int) (token, error) {
		l.pos += n
		return token{kind: k, pos: start, raw: rest[:n]}, nil
	}
	switch c := rest[0]; c {
	case '(':
		return punct(tokLParen, 1)
	case ')':
		return punct(tokRParen, 1)
	case '{':
		return punct(tokLBrace, 1)
	case '}':
		return punct(tokRBrace, 1)
	case ',':
		return punct(tokComma, 1)
	case '=':
		if strings.HasPrefix(rest, "==") {
			return punct(tokEq, 2)
		}
		return punct(tokInvalid, 1)
	case '!':
		if strings.HasPrefix(rest, "!=") {
			return punct(tokNe, 2)
		}
		return punct(tokNot, 1)
	case '&':
		if strings.HasPrefix(rest, "&&") {
			return punct(tokAnd, 2)
		}
		return punct(tokInvalid, 1)
	case '|':
		if strings.HasPrefix(rest, "||") {
			return punct(tokOr, 2)
		}
		return punct(tokInvalid, 1)
	case '"', '\'':
		// No escapes: the literal runs to the next identical quote.
		end := strings.IndexByte(rest[1:], c)
		if end < 0 {
			return token{}, l.errAt(start, "a closing "+string(c)+" for the string starting here", endOfInput)
		}
		l.pos += end + 2
		return token{kind: tokString, pos: start, val: rest[1 : end+1], raw: rest[:end+2]}, nil
	}

	if l.afterLabel {
		if k, n := operatorWord(rest); n > 0 {
			l.pos += n
			return token{kind: k, pos: start, raw: rest[:n]}, nil
		}
		// Not an operator: hand the parser whatever is here so that it can
		// report "expected an operator, found ...". No label-length check,
		// the parser rejects this token whatever it is.
		if n := identLen(rest); n > 0 {
			l.pos += n
			return token{kind: tokLabel, pos: start, val: rest[:n], raw: rest[:n]}, nil
		}
	}

	switch {
	case strings.HasPrefix(rest, "has("):
		return l.scanHas(start)
	case strings.HasPrefix(rest, "all("):
		return l.scanEmptyCall(start, len("all("), tokAll)
	case strings.HasPrefix(rest, "global("):
		return l.scanEmptyCall(start, len("global("), tokGlobal)
	}
	if n := identLen(rest); n > 0 {
		if n > MaxLabelLength {
			return token{}, l.errAt(start, "a label of at most "+strconv.Itoa(MaxLabelLength)+" characters",
				"label too long ("+strconv.Itoa(n)+" characters)")
		}
		l.pos += n
		return token{kind: tokLabel, pos: start, val: rest[:n], raw: rest[:n]}, nil
	}
	_, size := utf8.DecodeRuneInString(rest)
	return punct(tokInvalid, size)
}

// scanLabel reads a label at the current position (after optional
// whitespace), enforcing the length limit.
func (l *lexer) scanLabel() (string, error) {
	l.skipSpace()
	start := l.pos
	n := identLen(l.in[start:])
	if n == 0 {
		return "", l.errAt(start, expectLabel, describeAt(l.in, start))
	}
	if n > MaxLabelLength {
		return "", l.errAt(start, "a label of at most "+strconv.Itoa(MaxLabelLength)+" characters",
			"label too long ("+strconv.Itoa(n)+" characters)")
	}
	l.pos += n
	return l.in[start : start+n], nil
}

// scanHas reads "has(" label ")"; spaces are allowed inside the parentheses
// but not between "has" and "(" (that form is lexed as the label "has").
func (l *lexer) scanHas(start int) (token, error) {
	l.pos = start + len("has(")
	label, err := l.scanLabel()
	if err != nil {
		return token{}, err
	}
	l.skipSpace()
	if l.pos >= len(l.in) || l.in[l.pos] != ')' {
		return token{}, l.errAt(l.pos, expectHasClose, describeAt(l.in, l.pos))
	}
	l.pos++
	return token{kind: tokHas, pos: start, val: label, raw: l.in[start:l.pos]}, nil
}

// scanEmptyCall reads "all(" or "global(" followed by optional spaces and ")".
func (l *lexer) scanEmptyCall(start, n int, k tokenKind) (token, error) {
	l.pos = start + n
	l.skipSpace()
	if l.pos >= len(l.in) || l.in[l.pos] != ')' {
		return token{}, l.errAt(l.pos, expectEmptyParen, describeAt(l.in, l.pos))
	}
	l.pos++
	return token{kind: k, pos: start, raw: l.in[start:l.pos]}, nil
}

// operatorWords lists the word operators. Their order does not matter: no
// operator's first word is a prefix of another's.
var operatorWords = [...]struct {
	kind  tokenKind
	words [2]string // second word "" for single-word operators
}{
	{tokContains, [2]string{"contains", ""}},
	{tokStartsWith, [2]string{"starts", "with"}},
	{tokEndsWith, [2]string{"ends", "with"}},
	{tokNotIn, [2]string{"not", "in"}},
	{tokIn, [2]string{"in", ""}},
}

// operatorWord matches an operator word at the start of s and returns its
// kind and the number of bytes consumed (0 if none). Multi-word operators
// accept any run of spaces/TABs between the words, including none
// ("startswith", "notin"). The final word must end at a non-label character or
// at the end of input, so "a inx" is not "a in x".
func operatorWord(s string) (tokenKind, int) {
	for _, op := range operatorWords {
		i, ok := 0, true
		for w, word := range op.words {
			if word == "" {
				break
			}
			if w > 0 {
				for i < len(s) && isSpace(s[i]) {
					i++
				}
			}
			if !strings.HasPrefix(s[i:], word) {
				ok = false
				break
			}
			i += len(word)
		}
		if ok && (i == len(s) || !isIdentChar(s[i])) {
			return op.kind, i
		}
	}
	return 0, 0
}
