package selector

import (
	"strings"
	"testing"
)

func TestAnd(t *testing.T) {
	cases := []struct{ a, b, want string }{
		{`a == "1"`, `b == "2"`, `(a == "1" && b == "2")`},
		{`a == "1" && c == "3"`, `b == "2"`, `((a == "1" && c == "3") && b == "2")`},
		{`a == "1"`, `b == "2" || c == "3"`, `(a == "1" && (b == "2" || c == "3"))`},
		{``, `projectcalico.org/namespace == 'ns1'`, `(all() && projectcalico.org/namespace == "ns1")`},
		{`!has(x)`, `!(a == "1" && b == "2")`, `(!has(x) && !(a == "1" && b == "2"))`},
	}
	for _, tc := range cases {
		got := And(MustParse(tc.a), MustParse(tc.b))
		if got.String() != tc.want {
			t.Errorf("And(%q, %q) = %q, want %q", tc.a, tc.b, got.String(), tc.want)
		}
		// Same as Calico's textual "(a) && (b)" over canonical texts, ID included.
		text := MustParse("(" + MustParse(tc.a).String() + ") && (" + MustParse(tc.b).String() + ")")
		if got.String() != text.String() || got.UniqueID() != text.UniqueID() {
			t.Errorf("And(%q, %q) = %q, textual conjunction gives %q", tc.a, tc.b, got.String(), text.String())
		}
	}

	sel := And(MustParse(`a == "1"`), MustParse(`b in {"2", "3"}`))
	for _, tc := range []struct {
		l    Set
		want bool
	}{
		{Set{"a": "1", "b": "3"}, true},
		{Set{"a": "1"}, false},
		{Set{"b": "2"}, false},
	} {
		if got := sel.Matches(tc.l); got != tc.want {
			t.Errorf("%s.Matches(%v) = %v, want %v", sel, tc.l, got, tc.want)
		}
	}
}

func TestAndAll(t *testing.T) {
	a, b, c := MustParse(`a == "1"`), MustParse(`b == "2" && d == "4"`), MustParse(`has(c)`)
	got := AndAll(a, b, c)
	want := MustParse(`(a == "1") && (b == "2" && d == "4") && (has(c))`)
	if got.String() != want.String() || got.String() != `(a == "1" && (b == "2" && d == "4") && has(c))` {
		t.Errorf("AndAll = %q, want %q", got.String(), want.String())
	}
	if AndAll() != All {
		t.Error("AndAll() is not All")
	}
	if AndAll(b) != b {
		t.Error("AndAll(x) is not x")
	}
	if !got.Matches(Set{"a": "1", "b": "2", "d": "4", "c": ""}) || got.Matches(Set{"a": "1", "b": "2", "d": "4"}) {
		t.Error("AndAll evaluates wrongly")
	}
}

func TestPrefixKeys(t *testing.T) {
	cases := []struct{ in, want string }{
		{`k == 'v'`, `pcns.k == "v"`},
		{`k != 'v'`, `pcns.k != "v"`},
		{`k contains 'v'`, `pcns.k contains "v"`},
		{`k starts with 'v'`, `pcns.k starts with "v"`},
		{`k ends with 'v'`, `pcns.k ends with "v"`},
		{`k in {'v', 'u'}`, `pcns.k in {"u", "v"}`},
		{`k not in {'v'}`, `pcns.k not in {"v"}`},
		{`has(k)`, `has(pcns.k)`},
		{`!has(k)`, `!has(pcns.k)`},
		{`all()`, `all()`},
		{``, `all()`},
		{`global()`, `global()`},
		{`k == 'v' && x == 'y'`, `(pcns.k == "v" && pcns.x == "y")`},
		{`k == 'v' || has(x)`, `(pcns.k == "v" || has(pcns.x))`},
		{`!(k == 'v')`, `!pcns.k == "v"`},
		{`!(!(k == 'v' && has(t) || all()) && (a in {'b', 'c'}))`,
			`!(!((pcns.k == "v" && has(pcns.t)) || all()) && pcns.a in {"b", "c"})`},
	}
	for _, tc := range cases {
		orig := MustParse(tc.in)
		before := orig.String()
		got := PrefixKeys(orig, "pcns.")
		if got.String() != tc.want {
			t.Errorf("PrefixKeys(%q) = %q, want %q", tc.in, got.String(), tc.want)
		}
		if orig.String() != before {
			t.Errorf("PrefixKeys modified its input: %q -> %q", before, orig.String())
		}
		if MustParse(got.String()).UniqueID() != got.UniqueID() {
			t.Errorf("PrefixKeys(%q) text does not round-trip", tc.in)
		}
	}

	// A prefixed selector on prefixed labels agrees with the original on the
	// original labels, for every evaluation case.
	for _, tc := range evalCases {
		prefixed := Set{}
		for k, v := range tc.labels {
			prefixed["pcsa."+k] = v
		}
		prefixed["unprefixed"] = "x" // must not be seen by the prefixed keys
		sel := PrefixKeys(MustParse(tc.sel), "pcsa.")
		if got := sel.Matches(prefixed); got != tc.want {
			t.Errorf("PrefixKeys(%q).Matches(%v) = %v, want %v", tc.sel, prefixed, got, tc.want)
		}
	}
}

// textSelector is a Selector implemented outside this package's types, as a
// test double in another package might be.
type textSelector string

func (s textSelector) Matches(Labels) bool { return false }
func (s textSelector) String() string      { return string(s) }
func (s textSelector) UniqueID() string    { return "" }

func TestComposeForeignSelector(t *testing.T) {
	got := And(textSelector(`a == 'x'`), MustParse(`has(b)`))
	if got.String() != `(a == "x" && has(b))` || !got.Matches(Set{"a": "x", "b": ""}) {
		t.Errorf("And(foreign, ...) = %q", got.String())
	}
	if got := PrefixKeys(textSelector(`has(a)`), "p."); got.String() != `has(p.a)` {
		t.Errorf("PrefixKeys(foreign) = %q", got.String())
	}
	for name, f := range map[string]func(){
		"nil":     func() { And(nil, All) },
		"invalid": func() { PrefixKeys(textSelector(`a = 'x'`), "p.") },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "selector: ") {
					t.Errorf("%s: recovered %v, want a selector: panic", name, r)
				}
			}()
			f()
		}()
	}
}

func TestIsGlobal(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{`global()`, true},
		{` global() `, true},
		{"\tglobal(\t)\t", true},
		{`global(  )`, true},
		{`!global()`, false},
		{`!!global()`, false},
		{`(global())`, false},
		{`global() && all()`, false},
		{`global()||all()`, false},
		{`a == "global()"`, false},
		{`global() global()`, false},
		{`global(`, false},
		{`global (`, false},
		{"global()\n", false},
		{`GLOBAL()`, false},
		{`all()`, false},
		{``, false},
		{`global`, false},
	}
	for _, tc := range cases {
		if got := IsGlobal(tc.in); got != tc.want {
			t.Errorf("IsGlobal(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestContainsGlobal(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{`global()`, true},
		{`a == "global("`, true},
		{`has(a) && global( )`, true},
		{`global (`, false},
		{`globalx == "y"`, false},
		{`Global()`, false},
		{``, false},
	}
	for _, tc := range cases {
		if got := ContainsGlobal(tc.in); got != tc.want {
			t.Errorf("ContainsGlobal(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
