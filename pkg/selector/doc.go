// Package selector implements the Calico label-selector language used by
// Palisade policies: parsing, validation, canonical form, unique IDs and
// evaluation against label sets.
//
// The language is specified in docs/semantics.md section 4 (mirroring
// libcalico-go/lib/selector). In short:
//
//	a == "x"   a != 'x'   a in {"x", "y"}   a not in {}   has(a)   all()   global()
//	a contains "x"   a starts with "x"   a ends with "x"   !e   e && e   e || e   (e)
//
// with precedence || < && < prefix !, whitespace limited to space and TAB, and
// operator words (in, not in, contains, starts with, ends with) recognised only
// right after a label.
//
// # Design
//
// A selector is parsed once into an immutable evaluator tree (see ast.go).
// Matches walks that tree without allocating, because the policy engine
// evaluates selectors millions of times per sync; every per-selector cost
// (set de-duplication, sorting, canonical text) is paid at parse time. A parsed
// Selector is safe for concurrent use by any number of goroutines.
//
// String returns the canonical form Calico produces, and UniqueID hashes it the
// way Calico does, so ipset names derived from it agree with Felix's.
//
// The policy converters of docs/semantics.md §5.1/§5.2 are built from And,
// AndAll (conjunctions whose text equals Calico's "(a) && (b)"), PrefixKeys
// ("pcns."/"pcsa." forms), IsGlobal and ContainsGlobal. The textual
// all()/global() rewrites of §5.2 are plain string replacement on String()
// followed by Parse, exactly as Calico does them.
//
// # Deliberate differences from Calico
//
//   - Nesting is limited to MaxNesting levels of parentheses / and-or groups,
//     so that a hostile selector cannot exhaust the goroutine stack of the
//     admission webhook. Calico has no limit; no real selector comes close.
//   - Negations collapse by parity also across parentheses: "!(!a == 'x')"
//     canonicalises to `a == "x"`, whereas Calico prints `!!a == "x"`, which
//     it would itself re-parse as `a == "x"`. Collapsing keeps String idempotent.
//     Both forms match exactly the same label sets.
//
// # What this package must never do
//
// It is a pure core: no I/O, no clients, no clock, no logging, no global
// mutable state. It must never panic on any input (MustParse excepted, which
// exists for constants and tests), and Matches must never allocate.
package selector
