package selector

import (
	"slices"
	"strings"
)

// node is one element of a compiled selector. Nodes are immutable once built
// and shared freely between selectors (And, PrefixKeys), which is what makes a
// Selector safe for concurrent use.
type node interface {
	// eval reports whether the labels satisfy the node. It must not allocate.
	eval(l Labels) bool
	// appendCanonical appends the node's canonical text (Calico's String()).
	appendCanonical(b []byte) []byte
	// withPrefix returns a copy of the node with prefix prepended to every
	// label key it tests.
	withPrefix(prefix string) node
}

// Comparison operators of a label against a single string literal.
type (
	eqNode         struct{ key, val string } // k == v: present and equal
	neNode         struct{ key, val string } // k != v: absent or different
	containsNode   struct{ key, val string } // present and substring
	startsWithNode struct{ key, val string } // present and prefix
	endsWithNode   struct{ key, val string } // present and suffix
)

func (n *eqNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	return ok && v == n.val
}

func (n *neNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	return !ok || v != n.val
}

func (n *containsNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	return ok && strings.Contains(v, n.val)
}

func (n *startsWithNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	return ok && strings.HasPrefix(v, n.val)
}

func (n *endsWithNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	return ok && strings.HasSuffix(v, n.val)
}

func (n *eqNode) appendCanonical(b []byte) []byte { return appendCmp(b, n.key, " == ", n.val) }
func (n *neNode) appendCanonical(b []byte) []byte { return appendCmp(b, n.key, " != ", n.val) }
func (n *containsNode) appendCanonical(b []byte) []byte {
	return appendCmp(b, n.key, " contains ", n.val)
}
func (n *startsWithNode) appendCanonical(b []byte) []byte {
	return appendCmp(b, n.key, " starts with ", n.val)
}
func (n *endsWithNode) appendCanonical(b []byte) []byte {
	return appendCmp(b, n.key, " ends with ", n.val)
}

func (n *eqNode) withPrefix(p string) node       { return &eqNode{p + n.key, n.val} }
func (n *neNode) withPrefix(p string) node       { return &neNode{p + n.key, n.val} }
func (n *containsNode) withPrefix(p string) node { return &containsNode{p + n.key, n.val} }
func (n *startsWithNode) withPrefix(p string) node {
	return &startsWithNode{p + n.key, n.val}
}
func (n *endsWithNode) withPrefix(p string) node { return &endsWithNode{p + n.key, n.val} }

// inNode is "k in {...}" (negated=false: present and member) or
// "k not in {...}" (negated=true: absent or not a member).
type inNode struct {
	key     string
	set     *valueSet
	negated bool
}

func (n *inNode) eval(l Labels) bool {
	v, ok := l.Get(n.key)
	if !ok {
		return n.negated
	}
	return n.set.contains(v) != n.negated
}

func (n *inNode) appendCanonical(b []byte) []byte {
	b = append(b, n.key...)
	if n.negated {
		b = append(b, " not in {"...)
	} else {
		b = append(b, " in {"...)
	}
	for i, v := range n.set.sorted {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendQuoted(b, v)
	}
	return append(b, '}')
}

// withPrefix shares the (immutable) set with the original.
func (n *inNode) withPrefix(p string) node { return &inNode{p + n.key, n.set, n.negated} }

// hasNode is has(k): the key is present, whatever its value.
type hasNode struct{ key string }

func (n *hasNode) eval(l Labels) bool {
	_, ok := l.Get(n.key)
	return ok
}
func (n *hasNode) appendCanonical(b []byte) []byte {
	b = append(b, "has("...)
	b = append(b, n.key...)
	return append(b, ')')
}
func (n *hasNode) withPrefix(p string) node { return &hasNode{p + n.key} }

// allNode is all(), also the meaning of the empty selector.
type allNode struct{}

func (allNode) eval(Labels) bool                   { return true }
func (allNode) appendCanonical(b []byte) []byte    { return append(b, "all()"...) }
func (n allNode) withPrefix(string) node           { return n }
func (globalNode) eval(Labels) bool                { return true }
func (globalNode) appendCanonical(b []byte) []byte { return append(b, "global()"...) }
func (n globalNode) withPrefix(string) node        { return n }

// globalNode is global(). It matches everything at this level: its special
// meaning (endpoints without a namespace) exists only in an EntityRule
// namespaceSelector and is implemented by the engine through textual
// rewriting (docs/semantics.md §5.2).
type globalNode struct{}

// notNode is !x. The parser never builds notNode{notNode{...}}: see negate.
type notNode struct{ x node }

func (n *notNode) eval(l Labels) bool { return !n.x.eval(l) }
func (n *notNode) appendCanonical(b []byte) []byte {
	return n.x.appendCanonical(append(b, '!'))
}
func (n *notNode) withPrefix(p string) node { return &notNode{n.x.withPrefix(p)} }

// negate returns !x, collapsing double negation so that the canonical text
// never contains "!!" (which would re-parse to something printed differently).
func negate(x node) node {
	if n, ok := x.(*notNode); ok {
		return n.x
	}
	return &notNode{x}
}

// andNode and orNode hold two or more operands, in source order, evaluated
// with short-circuit. Groups are not flattened: "(a && b) && c" keeps its
// nested group, exactly as Calico's parser does, because the canonical text
// (and hence the unique ID) depends on it.
type (
	andNode struct{ ops []node }
	orNode  struct{ ops []node }
)

func (n *andNode) eval(l Labels) bool {
	for _, op := range n.ops {
		if !op.eval(l) {
			return false
		}
	}
	return true
}

func (n *orNode) eval(l Labels) bool {
	for _, op := range n.ops {
		if op.eval(l) {
			return true
		}
	}
	return false
}

func (n *andNode) appendCanonical(b []byte) []byte { return appendGroup(b, n.ops, " && ") }
func (n *orNode) appendCanonical(b []byte) []byte  { return appendGroup(b, n.ops, " || ") }
func (n *andNode) withPrefix(p string) node        { return &andNode{prefixAll(n.ops, p)} }
func (n *orNode) withPrefix(p string) node         { return &orNode{prefixAll(n.ops, p)} }

func appendGroup(b []byte, ops []node, sep string) []byte {
	b = append(b, '(')
	for i, op := range ops {
		if i > 0 {
			b = append(b, sep...)
		}
		b = op.appendCanonical(b)
	}
	return append(b, ')')
}

func prefixAll(ops []node, p string) []node {
	out := make([]node, len(ops))
	for i, op := range ops {
		out[i] = op.withPrefix(p)
	}
	return out
}

func appendCmp(b []byte, key, op, val string) []byte {
	b = append(b, key...)
	b = append(b, op...)
	return appendQuoted(b, val)
}

// appendQuoted double-quotes s unless it contains a double quote, in which
// case it single-quotes it. The lexer guarantees a literal never contains both.
func appendQuoted(b []byte, s string) []byte {
	q := byte('"')
	if strings.IndexByte(s, '"') >= 0 {
		q = '\''
	}
	b = append(b, q)
	b = append(b, s...)
	return append(b, q)
}

// groupDepth returns the deepest nesting of and/or groups, which is the
// parenthesis depth of the canonical text.
func groupDepth(n node) int {
	switch n := n.(type) {
	case *notNode:
		return groupDepth(n.x)
	case *andNode:
		return 1 + maxDepth(n.ops)
	case *orNode:
		return 1 + maxDepth(n.ops)
	}
	return 0
}

func maxDepth(ops []node) int {
	d := 0
	for _, op := range ops {
		d = max(d, groupDepth(op))
	}
	return d
}

// valueSet is the de-duplicated, sorted member list of a set literal.
// Membership is a linear scan for up to linearSetMax members and a map lookup
// above. BenchmarkSetContains measured the crossover on equal-length values
// (the worst case for a scan): a scan wins at 1-2 members, ties at 3, and a
// map wins from 4; binary search over the sorted slice never beat both.
type valueSet struct {
	sorted []string
	index  map[string]struct{} // nil unless len(sorted) > linearSetMax
}

const linearSetMax = 3

func newValueSet(vals []string) *valueSet {
	slices.Sort(vals)
	vals = slices.Compact(vals)
	s := &valueSet{sorted: slices.Clip(vals)}
	if len(vals) > linearSetMax {
		s.index = make(map[string]struct{}, len(vals))
		for _, v := range vals {
			s.index[v] = struct{}{}
		}
	}
	return s
}

func (s *valueSet) contains(v string) bool {
	if s.index != nil {
		_, ok := s.index[v]
		return ok
	}
	for _, m := range s.sorted {
		if m == v {
			return true
		}
	}
	return false
}
