package selector

import (
	"crypto/sha256"
	"encoding/base64"
	"sync"
	"testing"
)

func TestUniqueID(t *testing.T) {
	// Vectors from Calico's parser_test.go (the first is quoted in the
	// docs/semantics.md §4.3); they pin the hashing scheme byte for byte.
	cases := []struct{ in, canon, id string }{
		{"", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"},
		{" all() ", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"},
		{" (all() )", "all()", "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug"},
		{`! (has( b)||! has(a ))`, `!(has(b) || !has(a))`, "s:Iss0uCleLYv1GSv_pNm7hAO58kE9jAx1NKyG3Q"},
		{`! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`, "s:lh3haoY1ikTRkd4UZu0nWSaIBknYLPJLX16d-w"},
	}
	for _, tc := range cases {
		sel := MustParse(tc.in)
		if sel.String() != tc.canon || sel.UniqueID() != tc.id {
			t.Errorf("Parse(%q) = %q %s, want %q %s", tc.in, sel.String(), sel.UniqueID(), tc.canon, tc.id)
		}
	}
	if All.UniqueID() != "s:5y5I3VdRZfDU01O--xXAPx2yxCQQqMf0M6IWug" {
		t.Errorf("All.UniqueID() = %s", All.UniqueID())
	}
}

func TestUniqueIDIsHashOfCanonical(t *testing.T) {
	for _, tc := range parseOKCases {
		sel := MustParse(tc.in)
		sum := sha256.Sum224([]byte("s:" + sel.String()))
		want := "s:" + base64.RawURLEncoding.EncodeToString(sum[:])
		if got := sel.UniqueID(); got != want {
			t.Errorf("Parse(%q).UniqueID() = %s, want %s", tc.in, got, want)
		}
	}
	// Equivalent spellings share an ID; different selectors do not.
	if MustParse(`a in {"y", "x", "x"}`).UniqueID() != MustParse(`a in {'x','y',}`).UniqueID() {
		t.Error("equivalent spellings have different IDs")
	}
	if MustParse(`a == "x"`).UniqueID() == MustParse(`a == "y"`).UniqueID() {
		t.Error("different selectors share an ID")
	}
}

func TestUniqueIDConcurrent(t *testing.T) {
	sel := MustParse(`app == "web" && env in {"prod"}`)
	want := uniqueID(sel.String())
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := sel.UniqueID(); got != want {
				t.Errorf("concurrent UniqueID = %s, want %s", got, want)
			}
		})
	}
	wg.Wait()
}
