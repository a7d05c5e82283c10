package selector

import "strconv"

// MaxNesting bounds how deeply parentheses (and the and/or groups of the
// canonical form) may nest. The parser is recursive descent, and an
// admission webhook must not let a crafted selector of a few megabytes of
// "(" exhaust its goroutine stack. Calico has no such limit; real selectors
// nest a handful of levels.
const MaxNesting = 1000

// parser is a recursive-descent parser over the grammar of docs/semantics.md §4.2
// with one token of lookahead:
//
//	selector := <empty> | or EOF
//	or       := and ( "||" and )*
//	and      := op ( "&&" op )*
//	op       := "!"* primary
//	primary  := has(label) | all() | global() | "(" or ")"
//	          | label ("==" | "!=" | contains | starts with | ends with) string
//	          | label (in | not in) "{" [ string ("," string)* [","] ] "}"
type parser struct {
	lex    lexer
	tok    token
	parens int // current parenthesis depth
}

// parse parses input into an evaluator tree. The empty (or blank) selector is
// all(). Every error is a *ParseError.
func parse(input string) (node, error) {
	p := parser{lex: lexer{in: input}}
	if err := p.advance(); err != nil {
		return nil, err
	}
	if p.tok.kind == tokEOF {
		return allNode{}, nil
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokEOF {
		return nil, p.unexpected(expectEnd)
	}
	// The canonical form parenthesises a top-level group the source may have
	// left bare, so it can nest one level deeper than the source did. Checking
	// the tree keeps "String() always re-parses" true at the limit.
	if d := groupDepth(root); d > MaxNesting {
		return nil, &ParseError{Input: input, Pos: 0,
			Expected: "at most " + strconv.Itoa(MaxNesting) + " nested groups",
			Found:    strconv.Itoa(d) + " nested groups"}
	}
	return root, nil
}

func (p *parser) advance() error {
	tok, err := p.lex.next()
	if err != nil {
		return err
	}
	p.tok = tok
	return nil
}

// unexpected reports that the current token does not fit.
func (p *parser) unexpected(expected string) *ParseError {
	return &ParseError{Input: p.lex.in, Pos: p.tok.pos, Expected: expected, Found: p.tok.describe()}
}

func (p *parser) parseOr() (node, error) {
	first, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokOr {
		return first, nil
	}
	ops := append(make([]node, 0, 4), first)
	for p.tok.kind == tokOr {
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		ops = append(ops, n)
	}
	return &orNode{ops}, nil
}

func (p *parser) parseAnd() (node, error) {
	first, err := p.parseOp()
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tokAnd {
		return first, nil
	}
	ops := append(make([]node, 0, 4), first)
	for p.tok.kind == tokAnd {
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseOp()
		if err != nil {
			return nil, err
		}
		ops = append(ops, n)
	}
	return &andNode{ops}, nil
}

// parseOp reads any number of "!" (collapsed by parity, iteratively so that a
// long run of "!" costs no stack) and the primary they apply to.
func (p *parser) parseOp() (node, error) {
	negated := false
	for p.tok.kind == tokNot {
		negated = !negated
		if err := p.advance(); err != nil {
			return nil, err
		}
	}
	n, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	if negated {
		n = negate(n)
	}
	return n, nil
}

func (p *parser) parsePrimary() (node, error) {
	tok := p.tok
	switch tok.kind {
	case tokHas:
		return &hasNode{tok.val}, p.advance()
	case tokAll:
		return allNode{}, p.advance()
	case tokGlobal:
		return globalNode{}, p.advance()
	case tokLParen:
		if p.parens >= MaxNesting {
			return nil, &ParseError{Input: p.lex.in, Pos: tok.pos,
				Expected: "at most " + strconv.Itoa(MaxNesting) + " nested parentheses",
				Found:    "another \"(\""}
		}
		p.parens++
		if err := p.advance(); err != nil {
			return nil, err
		}
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tokRParen {
			return nil, p.unexpected(expectCloseParen)
		}
		p.parens--
		return n, p.advance()
	case tokLabel:
		if err := p.advance(); err != nil {
			return nil, err
		}
		return p.parseComparison(tok.val)
	}
	return nil, p.unexpected(expectTerm)
}

// parseComparison parses what follows a label at the start of a term.
func (p *parser) parseComparison(key string) (node, error) {
	op := p.tok.kind
	switch op {
	case tokEq, tokNe, tokContains, tokStartsWith, tokEndsWith:
		if err := p.advance(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokString {
			return nil, p.unexpected(expectString)
		}
		val := p.tok.val
		var n node
		switch op {
		case tokEq:
			n = &eqNode{key, val}
		case tokNe:
			n = &neNode{key, val}
		case tokContains:
			n = &containsNode{key, val}
		case tokStartsWith:
			n = &startsWithNode{key, val}
		default:
			n = &endsWithNode{key, val}
		}
		return n, p.advance()
	case tokIn, tokNotIn:
		if err := p.advance(); err != nil {
			return nil, err
		}
		vals, err := p.parseSet()
		if err != nil {
			return nil, err
		}
		return &inNode{key: key, set: newValueSet(vals), negated: op == tokNotIn}, nil
	}
	return nil, p.unexpected(expectOperator)
}

// parseSet parses `{ [ string ("," string)* [","] ] }` starting at "{" and
// consumes the closing brace.
func (p *parser) parseSet() ([]string, error) {
	if p.tok.kind != tokLBrace {
		return nil, p.unexpected(expectSetStart)
	}
	if err := p.advance(); err != nil {
		return nil, err
	}
	vals := make([]string, 0, 4)
	for {
		// Here: right after "{" or after a ",". A "}" closes the set, which
		// allows "{}" and one trailing comma, but not "{,}" or ",,".
		switch p.tok.kind {
		case tokRBrace:
			return vals, p.advance()
		case tokString:
			vals = append(vals, p.tok.val)
		default:
			return nil, p.unexpected(expectSetMember)
		}
		if err := p.advance(); err != nil {
			return nil, err
		}
		switch p.tok.kind {
		case tokRBrace:
			return vals, p.advance()
		case tokComma:
			if err := p.advance(); err != nil {
				return nil, err
			}
		default:
			return nil, p.unexpected(expectSetNext)
		}
	}
}
