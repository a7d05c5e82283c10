package selector

import "fmt"

// And returns the conjunction of a and b. Its String() is "(" + a + " && " +
// b + ")" with both operands in canonical form, which is what Calico's parser
// produces from the text "(a) && (b)" used by its policy converters (docs/semantics.md
// §5.1, §5.2). Operands that are themselves groups stay nested; use AndAll
// for the flat form "(a) && (b) && (c)".
//
// And does not simplify all(): Calico's NP conversion uses the namespace
// clause alone when the policy selector is empty, and that decision belongs
// to the caller, which knows whether the source text was empty.
func And(a, b Selector) Selector {
	return newCompiled(&andNode{[]node{rootOf(a), rootOf(b)}}, len(a.String())+len(b.String())+6)
}

// AndAll returns the flat conjunction of sels, as Calico parses the text
// "(s1) && (s2) && ... (sn)": String() is "(s1 && s2 && ... && sn)". With one
// operand it returns it unchanged and with none it returns All.
func AndAll(sels ...Selector) Selector {
	switch len(sels) {
	case 0:
		return All
	case 1:
		return sels[0]
	}
	ops := make([]node, len(sels))
	size := 2
	for i, s := range sels {
		ops[i] = rootOf(s)
		size += len(s.String()) + 4
	}
	return newCompiled(&andNode{ops}, size)
}

// PrefixKeys returns sel with prefix prepended to every label key it tests
// (has, ==, !=, in, not in, contains, starts with, ends with), as Calico's
// PrefixVisitor does for the "pcns." and "pcsa." namespace and
// service-account selectors. sel is not modified.
//
// The prefix is not validated: with a prefix outside [a-zA-Z0-9_./-], or keys
// pushed beyond MaxLabelLength, the result still evaluates correctly but its
// String() no longer re-parses.
func PrefixKeys(sel Selector, prefix string) Selector {
	root := rootOf(sel)
	return newCompiled(root.withPrefix(prefix), len(sel.String())+8*len(prefix))
}

// rootOf returns the evaluator tree behind sel. Selectors from this package
// expose it directly; any other implementation is re-parsed from its String().
// A nil Selector, or a foreign one whose text does not parse, is a programming
// error (never an input error), so it panics rather than guessing a meaning
// that could widen a policy.
func rootOf(sel Selector) node {
	switch s := sel.(type) {
	case *compiled:
		return s.root
	case nil:
		panic("selector: nil Selector passed to And, AndAll or PrefixKeys")
	}
	root, err := parse(sel.String())
	if err != nil {
		panic(fmt.Sprintf("selector: Selector of type %T has an invalid String(): %v", sel, err))
	}
	return root
}
