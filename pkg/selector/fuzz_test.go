package selector

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParse checks, for any input, that parsing never panics, that Parse and
// Validate agree, that errors are *ParseErrors pointing inside the input, and
// that an accepted selector's canonical form is a fixed point with the same
// ID and the same verdicts on label maps built from the input's own labels
// and literals.
func FuzzParse(f *testing.F) {
	for _, tc := range parseOKCases {
		f.Add(tc.in)
	}
	for _, tc := range parseErrCases {
		f.Add(tc.in)
	}
	for _, tc := range parseLexErrCases {
		f.Add(tc.in)
	}
	for _, tc := range evalCases {
		f.Add(tc.sel)
	}
	f.Fuzz(func(t *testing.T, in string) {
		sel, err := Parse(in)
		verr := Validate(in)
		if (err == nil) != (verr == nil) || (err != nil && err.Error() != verr.Error()) {
			t.Fatalf("Parse and Validate disagree on %q: %v vs %v", in, err, verr)
		}
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%q) error %T is not a *ParseError", in, err)
			}
			if pe.Input != in || pe.Pos < 0 || pe.Pos > len(in) || pe.Expected == "" || pe.Found == "" {
				t.Fatalf("Parse(%q): malformed error %+v", in, pe)
			}
			if IsGlobal(in) {
				t.Fatalf("IsGlobal(%q) is true for an invalid selector", in)
			}
			return
		}

		canon := sel.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", canon, in, err)
		}
		if again.String() != canon || again.UniqueID() != sel.UniqueID() {
			t.Fatalf("canonical %q of %q re-parses as %q", canon, in, again.String())
		}
		if IsGlobal(in) && canon != "global()" {
			t.Fatalf("IsGlobal(%q) but canonical is %q", in, canon)
		}
		prefixed := PrefixKeys(sel, "p/")
		for _, l := range derivedLabels(in) {
			want := sel.Matches(l)
			if got := again.Matches(l); got != want {
				t.Fatalf("%q and its canonical %q disagree on %v: %v vs %v", in, canon, l, want, got)
			}
			pl := Set{}
			for k, v := range l {
				pl["p/"+k] = v
			}
			if got := prefixed.Matches(pl); got != want {
				t.Fatalf("PrefixKeys(%q) disagrees on %v: %v vs %v", in, pl, got, want)
			}
		}
	})
}

// derivedLabels builds label maps from the label-like words and the quoted
// literals of in, so that the fuzzer's selectors sometimes match and
// sometimes do not.
func derivedLabels(in string) []Set {
	var words, lits []string
	for i := 0; i < len(in); {
		switch c := in[i]; {
		case c == '"' || c == '\'':
			end := strings.IndexByte(in[i+1:], c)
			if end < 0 {
				i = len(in)
				continue
			}
			lits = append(lits, in[i+1:i+1+end])
			i += end + 2
		case isIdentChar(c):
			n := identLen(in[i:])
			words = append(words, in[i:i+n])
			i += n
		default:
			i++
		}
	}
	words = append(words, "a", "b")
	lits = append(lits, "", "x")
	sets := []Set{{}}
	for shift := range 3 {
		s := Set{}
		for i, w := range words {
			s[w] = lits[(i+shift)%len(lits)]
		}
		sets = append(sets, s)
	}
	odd, self := Set{}, Set{}
	for i, w := range words {
		if i%2 == 1 {
			odd[w] = lits[0]
		}
		self[w] = w
	}
	return append(sets, odd, self)
}
