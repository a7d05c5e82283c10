package cli

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
)

func TestQuote(t *testing.T) {
	tests := []struct{ in, quote, escape string }{
		{"web", "web", "web"},
		{"", `""`, ""},
		{"a b", `"a b"`, "a b"},
		{"x\nFinal verdict: ALLOWED", `"x\nFinal verdict: ALLOWED"`, `x\nFinal verdict: ALLOWED`},
		{"\x1b[2K", `"\x1b[2K"`, `\x1b[2K`},
		{"ünïcode", "ünïcode", "ünïcode"},
		{"a\u2028b", `"a\u2028b"`, `a\u2028b`},
	}
	for _, tt := range tests {
		if got := quote(tt.in); got != tt.quote {
			t.Errorf("quote(%q) = %s, want %s", tt.in, got, tt.quote)
		}
		if got := escapeControl(tt.in); got != tt.escape {
			t.Errorf("escapeControl(%q) = %s, want %s", tt.in, got, tt.escape)
		}
	}
}

// FuzzQuote: whatever a manifest holds, quoted or escaped output holds no control character and
// no line break, and quoting can be undone.
func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "web", "x\nFinal verdict: ALLOWED", "\x1b[1A", "\xff", "a\u2028b\u0085"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, out := range []string{quote(s), escapeControl(s), escapeLines(s)} {
			for _, r := range out {
				if r != '\n' && !unicode.IsPrint(r) && r != ' ' {
					t.Fatalf("%q renders as %q, which holds %U", s, out, r)
				}
			}
		}
		if strings.ContainsAny(quote(s), "\n\r") || strings.ContainsAny(escapeControl(s), "\n\r") {
			t.Fatalf("%q renders with a line break", s)
		}
		q := quote(s)
		if strings.HasPrefix(q, `"`) {
			if back, err := strconv.Unquote(q); err != nil || (back != s && strings.ToValidUTF8(s, "\uFFFD") == s) {
				t.Fatalf("quote(%q) = %s does not unquote back (%q, %v)", s, q, back, err)
			}
		}
	})
}
