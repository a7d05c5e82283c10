package selector

import (
	"fmt"
	"sync"
)

// Labels is what a selector is evaluated against. It is an interface so that
// the engine can layer pod, namespace and profile labels without copying them
// into one map. Get must not allocate if Matches is to stay allocation-free.
type Labels interface {
	Get(key string) (value string, ok bool)
}

// Set is the plain map implementation of Labels. A nil Set is empty.
type Set map[string]string

// Get returns the value of key and whether it is present.
func (s Set) Get(k string) (string, bool) {
	v, ok := s[k]
	return v, ok
}

// Selector is a parsed, immutable selector. Implementations in this package
// are safe for concurrent use.
type Selector interface {
	// Matches reports whether the labels satisfy the selector. It does not
	// allocate. A nil Labels is treated as the empty label set.
	Matches(l Labels) bool
	// String returns the canonical form (docs/semantics.md §4.3): and/or groups
	// parenthesised, literals double-quoted unless they contain '"', set
	// members sorted and de-duplicated, "" rendered as all().
	String() string
	// UniqueID returns "s:" + base64url(SHA-224("s:" + String())), Calico's
	// selector ID (used for ipset names).
	UniqueID() string
}

// compiled is the only Selector implementation. The canonical text is built
// at construction (it is needed by nearly every caller); the unique ID is
// computed on first use because Validate-style callers never need it.
type compiled struct {
	root  node
	canon string

	idOnce sync.Once
	id     string
}

// newCompiled renders the canonical text once. sizeHint, the expected length
// of that text, saves the buffer from growing step by step.
func newCompiled(root node, sizeHint int) *compiled {
	return &compiled{root: root, canon: string(root.appendCanonical(make([]byte, 0, sizeHint)))}
}

func (c *compiled) Matches(l Labels) bool {
	if l == nil {
		l = Set(nil)
	}
	return c.root.eval(l)
}

func (c *compiled) String() string { return c.canon }

func (c *compiled) UniqueID() string {
	c.idOnce.Do(func() { c.id = uniqueID(c.canon) })
	return c.id
}

// All is the selector all(), which matches every label set. It is also what
// the empty selector parses to.
var All Selector = newCompiled(allNode{}, len("all()"))

// Parse parses a selector. The empty or blank (spaces/TABs only) selector is
// all(). On a syntax error it returns a *ParseError naming the byte position
// and what was expected there; it never panics.
func Parse(s string) (Selector, error) {
	root, err := parse(s)
	if err != nil {
		return nil, err
	}
	if _, ok := root.(allNode); ok {
		return All, nil
	}
	// The canonical text is about as long as the source: spacing is
	// normalised and groups gain parentheses.
	return newCompiled(root, len(s)+len(s)/4+8), nil
}

// MustParse is Parse for selectors known to be valid (constants, tests). It
// panics on a syntax error.
func MustParse(s string) Selector {
	sel, err := Parse(s)
	if err != nil {
		panic(fmt.Sprintf("selector.MustParse: %v", err))
	}
	return sel
}

// Validate reports whether s is a valid selector: nil, or a *ParseError.
// The empty string is valid (it means all()).
func Validate(s string) error {
	_, err := parse(s)
	return err
}
