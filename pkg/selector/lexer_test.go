package selector

import (
	"slices"
	"strings"
	"testing"
)

// lexAll tokenises in completely, the way the parser pulls tokens.
func lexAll(in string) ([]token, error) {
	l := lexer{in: in}
	var toks []token
	for {
		tok, err := l.next()
		if err != nil {
			return toks, err
		}
		toks = append(toks, tok)
		if tok.kind == tokEOF {
			return toks, nil
		}
	}
}

func TestLexerKinds(t *testing.T) {
	cases := []struct {
		in   string
		want []tokenKind
	}{
		{"", []tokenKind{tokEOF}},
		{" \t ", []tokenKind{tokEOF}},
		{"( ) { } , == != ! && ||", []tokenKind{tokLParen, tokRParen, tokLBrace, tokRBrace, tokComma, tokEq, tokNe, tokNot, tokAnd, tokOr, tokEOF}},
		{"!!=", []tokenKind{tokNot, tokNe, tokEOF}},
		{"= & |", []tokenKind{tokInvalid, tokInvalid, tokInvalid, tokEOF}},
		{"===", []tokenKind{tokEq, tokInvalid, tokEOF}},
		{"a==b", []tokenKind{tokLabel, tokEq, tokLabel, tokEOF}},
		// Operator words only directly after a label.
		{"a in b", []tokenKind{tokLabel, tokIn, tokLabel, tokEOF}},
		{"in in in", []tokenKind{tokLabel, tokIn, tokLabel, tokEOF}},
		{"a notin", []tokenKind{tokLabel, tokNotIn, tokEOF}},
		{"a not in", []tokenKind{tokLabel, tokNotIn, tokEOF}},
		{"a not \t in{", []tokenKind{tokLabel, tokNotIn, tokLBrace, tokEOF}},
		{"a contains", []tokenKind{tokLabel, tokContains, tokEOF}},
		{"a startswith", []tokenKind{tokLabel, tokStartsWith, tokEOF}},
		{"a starts with", []tokenKind{tokLabel, tokStartsWith, tokEOF}},
		{"a endswith", []tokenKind{tokLabel, tokEndsWith, tokEOF}},
		{"a ends  with", []tokenKind{tokLabel, tokEndsWith, tokEOF}},
		{`"x" in`, []tokenKind{tokString, tokLabel, tokEOF}},
		{"has(a) in", []tokenKind{tokHas, tokLabel, tokEOF}},
		{"a in in", []tokenKind{tokLabel, tokIn, tokLabel, tokEOF}},
		// The operator word must end at a non-label character.
		{"a inx", []tokenKind{tokLabel, tokLabel, tokEOF}},
		{"a in-x", []tokenKind{tokLabel, tokLabel, tokEOF}},
		{"a in(", []tokenKind{tokLabel, tokIn, tokLParen, tokEOF}},
		{`a in"x"`, []tokenKind{tokLabel, tokIn, tokString, tokEOF}},
		{"a not", []tokenKind{tokLabel, tokLabel, tokEOF}},
		{"a starts", []tokenKind{tokLabel, tokLabel, tokEOF}},
		{"a startswithx", []tokenKind{tokLabel, tokLabel, tokEOF}},
		{"a with", []tokenKind{tokLabel, tokLabel, tokEOF}},
		// Functions: exact prefix, spaces only inside the parentheses.
		{"has(a)", []tokenKind{tokHas, tokEOF}},
		{"has( a\t)", []tokenKind{tokHas, tokEOF}},
		{"has (a)", []tokenKind{tokLabel, tokLParen, tokLabel, tokRParen, tokEOF}},
		{"all()all( )", []tokenKind{tokAll, tokAll, tokEOF}},
		{"global()", []tokenKind{tokGlobal, tokEOF}},
		{"all global has", []tokenKind{tokLabel, tokLabel, tokLabel, tokEOF}},
		{"a has(b)", []tokenKind{tokLabel, tokLabel, tokLParen, tokLabel, tokRParen, tokEOF}},
		// Characters outside the language, one rune at a time.
		{"\n", []tokenKind{tokInvalid, tokEOF}},
		{"é:", []tokenKind{tokInvalid, tokInvalid, tokEOF}},
	}
	for _, tc := range cases {
		toks, err := lexAll(tc.in)
		if err != nil {
			t.Errorf("lex(%q): %v", tc.in, err)
			continue
		}
		var got []tokenKind
		for _, tok := range toks {
			got = append(got, tok.kind)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("lex(%q) kinds = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestLexerValues(t *testing.T) {
	cases := []struct {
		in   string
		want []token
	}{
		{`a == "b c"`, []token{
			{kind: tokLabel, pos: 0, val: "a", raw: "a"},
			{kind: tokEq, pos: 2, raw: "=="},
			{kind: tokString, pos: 5, val: "b c", raw: `"b c"`},
			{kind: tokEOF, pos: 10},
		}},
		{`'it"s'`, []token{
			{kind: tokString, pos: 0, val: `it"s`, raw: `'it"s'`},
			{kind: tokEOF, pos: 6},
		}},
		{`""`, []token{
			{kind: tokString, pos: 0, val: "", raw: `""`},
			{kind: tokEOF, pos: 2},
		}},
		{"\"a\nb\"", []token{
			{kind: tokString, pos: 0, val: "a\nb", raw: "\"a\nb\""},
			{kind: tokEOF, pos: 5},
		}},
		{" has(  x.y/z ) ", []token{
			{kind: tokHas, pos: 1, val: "x.y/z", raw: "has(  x.y/z )"},
			{kind: tokEOF, pos: 15},
		}},
		{"k not  in", []token{
			{kind: tokLabel, pos: 0, val: "k", raw: "k"},
			{kind: tokNotIn, pos: 2, raw: "not  in"},
			{kind: tokEOF, pos: 9},
		}},
		{"é", []token{
			{kind: tokInvalid, pos: 0, raw: "é"},
			{kind: tokEOF, pos: 2},
		}},
	}
	for _, tc := range cases {
		got, err := lexAll(tc.in)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("lex(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestLexerLabelLength(t *testing.T) {
	for _, tc := range []struct {
		n  int
		ok bool
	}{{1, true}, {511, true}, {512, true}, {513, false}, {4096, false}} {
		label := strings.Repeat("a", tc.n)
		for _, in := range []string{label, "has(" + label + ")"} {
			_, err := lexAll(in)
			if (err == nil) != tc.ok {
				t.Errorf("lex(%d-char label in %.8q...): err = %v, want ok=%v", tc.n, in, err, tc.ok)
			}
		}
	}
	// After a label the next word is handed to the parser whatever its
	// length: the parser rejects it as "not an operator" instead.
	toks, err := lexAll("a " + strings.Repeat("b", 600))
	if err != nil || len(toks) != 3 || toks[1].kind != tokLabel {
		t.Errorf("lex(a <600 chars>) = %v, %v", toks, err)
	}
}

func TestTokenDescribe(t *testing.T) {
	cases := []struct {
		tok  token
		want string
	}{
		{token{kind: tokEOF}, "end of input"},
		{token{kind: tokLabel, val: "app", raw: "app"}, `label "app"`},
		{token{kind: tokString, val: "x", raw: `'x'`}, `string "'x'"`},
		{token{kind: tokAnd, raw: "&&"}, `"&&"`},
		{token{kind: tokInvalid, raw: "\n"}, `"\n"`},
		{token{kind: tokLabel, val: strings.Repeat("z", 50)}, `label "` + strings.Repeat("z", 40) + `..."`},
		{token{kind: tokInvalid, raw: "\xff"}, `"\xff"`},
	}
	for _, tc := range cases {
		if got := tc.tok.describe(); got != tc.want {
			t.Errorf("describe(%+v) = %s, want %s", tc.tok, got, tc.want)
		}
	}
	// shorten never splits a multi-byte rune.
	if got := shorten(strings.Repeat("a", 39) + "é" + "tail"); got != strings.Repeat("a", 39)+"..." {
		t.Errorf("shorten cut a rune: %q", got)
	}
}
