package selector

import (
	"fmt"
	"testing"
)

// evalCases evaluates selectors over label maps. Rows marked "doc" are the
// examples table of docs/semantics.md §4.5 and the rules of §4.3.
var evalCases = []struct {
	sel    string
	labels Set
	want   bool
}{
	// doc 4.5
	{`a == "b"`, Set{"a": "c"}, false},
	{`a != "b"`, Set{}, true},
	{`a not in {"x", "y"}`, Set{}, true},
	{`a in {}`, Set{"a": ""}, false},
	{`a in {"x",}`, Set{"a": "x"}, true},
	{`a notin {"x"}`, Set{"a": "y"}, true},
	{`has( a )`, Set{"a": "x"}, true},
	{`!a == "x"`, Set{}, true},
	{`a == "x" || b == "y" && c == "z"`, Set{"a": "x"}, true},
	{`a contains ""`, Set{}, false},
	{`contains contains "contains"`, Set{"contains": "xcontainsx"}, true},
	{``, Set{}, true},
	{``, Set{"a": "b", "c": "d"}, true},

	// == and != (doc 4.3): exact and case-sensitive; != true when absent.
	{`a == "b"`, Set{"a": "b"}, true},
	{`a == "b"`, Set{"a": "b", "c": "d"}, true},
	{`a == "b"`, Set{}, false},
	{`a == "b"`, Set{"c": "b"}, false},
	{`a == "b"`, Set{"A": "b"}, false},
	{`a == "b"`, Set{"a": "B"}, false},
	{`a == "b"`, Set{"a": "b "}, false},
	{`a == ""`, Set{"a": ""}, true},
	{`a == ""`, Set{}, false},
	{`a != "b"`, Set{"a": "b"}, false},
	{`a != "b"`, Set{"a": "c"}, true},
	{`a != "b"`, Set{"a": ""}, true},
	{`a != ""`, Set{"a": ""}, false},
	{`a == "日本"`, Set{"a": "日本"}, true},
	{"a == \"x\ny\"", Set{"a": "x\ny"}, true},
	{`a == '"'`, Set{"a": `"`}, true},

	// in / not in.
	{`a in {"x", "y"}`, Set{"a": "x"}, true},
	{`a in {"x", "y"}`, Set{"a": "y"}, true},
	{`a in {"x", "y"}`, Set{"a": "z"}, false},
	{`a in {"x", "y"}`, Set{}, false},
	{`a in {""}`, Set{"a": ""}, true},
	{`a in {}`, Set{}, false},
	{`a not in {}`, Set{}, true},
	{`a not in {}`, Set{"a": ""}, true},
	{`a not in {"x", "y"}`, Set{"a": "x"}, false},
	{`a not in {"x", "y"}`, Set{"a": "z"}, true},
	{`a in {"'", '"', "c"}`, Set{"a": `"`}, true},
	{`a in {"'", '"', "c"}`, Set{"a": `'`}, true},
	{`a in {"'", '"', "c"}`, Set{"a": "c"}, true},
	{`a in {"'", '"', "c"}`, Set{"a": "e"}, false},
	{`!a in {"a"}`, Set{"a": "b"}, true},
	{`!a in {"a"}`, Set{"a": "a"}, false},
	// Sets above linearSetMax use the map index.
	{`a in {"0","1","2","3","4","5","6","7","8","9"}`, Set{"a": "7"}, true},
	{`a in {"0","1","2","3","4","5","6","7","8","9"}`, Set{"a": "10"}, false},
	{`a in {"0","1","2","3","4","5","6","7","8","9"}`, Set{}, false},
	{`a not in {"0","1","2","3","4","5","6","7","8","9"}`, Set{"a": "0"}, false},
	{`a not in {"0","1","2","3","4","5","6","7","8","9"}`, Set{"a": "x"}, true},
	{`a not in {"0","1","2","3","4","5","6","7","8","9"}`, Set{}, true},

	// contains / starts with / ends with: the key must exist.
	{`a contains "a"`, Set{"a": "bab"}, true},
	{`a contains "a"`, Set{"a": "b"}, false},
	{`a contains "a"`, Set{"b": "aaa"}, false},
	{`a contains ""`, Set{"a": ""}, true},
	{`a starts with "a"`, Set{"a": "abb"}, true},
	{`a starts with "a"`, Set{"a": "baa"}, false},
	{`a starts with "a"`, Set{}, false},
	{`a starts with ""`, Set{"a": ""}, true},
	{`a starts with ""`, Set{}, false},
	{`a starts with "abc"`, Set{"a": "ab"}, false},
	{`a ends with "a"`, Set{"a": "bba"}, true},
	{`a ends with "a"`, Set{"a": "aab"}, false},
	{`a ends with ""`, Set{}, false},
	{`a ends with "é"`, Set{"a": "café"}, true},
	{`a startswith "ca"`, Set{"a": "café"}, true},

	// has, all, global.
	{`has(a)`, Set{"a": ""}, true},
	{`has(a)`, Set{"b": "a"}, false},
	{`!has(a)`, Set{"b": "b"}, true},
	{`!has(a)`, Set{"a": ""}, false},
	{`all()`, Set{}, true},
	{`!all()`, Set{}, false},
	{`global()`, Set{}, true},
	{`global()`, Set{"projectcalico.org/namespace": "x"}, true},

	// Boolean structure and precedence.
	{`a == "b" && c == "d"`, Set{"a": "b", "c": "d"}, true},
	{`a == "b" && c == "d"`, Set{"a": "b", "c": "e"}, false},
	{`a == "b" && c == "d"`, Set{"c": "d"}, false},
	{`a == "b" || c == "d"`, Set{"c": "d"}, true},
	{`a == "b" || c == "d"`, Set{"a": "e", "c": "e"}, false},
	{`a == "x" || b == "y" && c == "z"`, Set{"b": "y"}, false},
	{`a == "x" || b == "y" && c == "z"`, Set{"b": "y", "c": "z"}, true},
	{`(a == "x" || b == "y") && c == "z"`, Set{"a": "x"}, false},
	{`(a == "x" || b == "y") && c == "z"`, Set{"a": "x", "c": "z"}, true},
	{`!a == "x" && b == "y"`, Set{"b": "y"}, true},
	{`!a == "x" && b == "y"`, Set{"a": "x", "b": "y"}, false},
	{`!(a == "x" && b == "y")`, Set{"a": "x", "b": "y"}, false},
	{`!(a == "x" && b == "y")`, Set{"a": "x"}, true},
	{`!!has(b)`, Set{"a": "b"}, false},
	{`!!!has(a)`, Set{"a": "b"}, false},
	{`!(has(b) || !has(a))`, Set{"a": "a"}, true},
	{`!(has(b) || !has(a))`, Set{"a": "a", "b": "b"}, false},
	{`!(!has(a) || has(b))`, Set{"a": "a"}, true},
	{`a != 'a1' && !b == 'b1'`, Set{"a": "a1", "b": "b1"}, false},
	{`! a == 'a1' || ! b == 'b1'`, Set{"a": "a1", "b": "b1"}, false},
	{`! a == 'a1' || ! b == 'b1'`, Set{"a": "a1"}, true},
	{`has(a) && a == ""`, Set{"a": ""}, true},
	{`has(a) && !has(b) || c == "1"`, Set{"a": "", "b": ""}, false},
	{`has(a) && !has(b) || c == "1"`, Set{"b": "", "c": "1"}, true},
	{`in in {"in"}`, Set{"in": "in"}, true},
	{`in in {"in"}`, Set{"in": "out"}, false},

	// Realistic selectors.
	{`role == 'frontend' && env in {'prod', 'staging'} && !has(quarantine)`,
		Set{"role": "frontend", "env": "prod"}, true},
	{`role == 'frontend' && env in {'prod', 'staging'} && !has(quarantine)`,
		Set{"role": "frontend", "env": "prod", "quarantine": "true"}, false},
	{`role == 'frontend' && env in {'prod', 'staging'} && !has(quarantine)`,
		Set{"role": "frontend", "env": "dev"}, false},
	{`projectcalico.org/namespace == "prod" && projectcalico.org/serviceaccount in {"api", "web"}`,
		Set{"projectcalico.org/namespace": "prod", "projectcalico.org/serviceaccount": "web"}, true},
	{`kubernetes.io/metadata.name not in {"kube-system", "calico-system"}`,
		Set{"kubernetes.io/metadata.name": "kube-system"}, false},
	{`kubernetes.io/metadata.name not in {"kube-system", "calico-system"}`,
		Set{"kubernetes.io/metadata.name": "default"}, true},
}

func TestMatches(t *testing.T) {
	for _, tc := range evalCases {
		sel, err := Parse(tc.sel)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.sel, err)
			continue
		}
		if got := sel.Matches(tc.labels); got != tc.want {
			t.Errorf("%q.Matches(%v) = %v, want %v", tc.sel, tc.labels, got, tc.want)
		}
		// The canonical form means the same thing.
		canon := MustParse(sel.String())
		if got := canon.Matches(tc.labels); got != tc.want {
			t.Errorf("canonical %q.Matches(%v) = %v, want %v", sel.String(), tc.labels, got, tc.want)
		}
	}
}

// overlay layers two label sources the way the engine layers pod labels over
// namespace-derived ones, without building a merged map.
type overlay struct{ top, base Set }

func (o overlay) Get(k string) (string, bool) {
	if v, ok := o.top[k]; ok {
		return v, true
	}
	return o.base.Get(k)
}

func TestMatchesLabelsInterface(t *testing.T) {
	l := overlay{top: Set{"app": "web", "env": "dev"}, base: Set{"env": "prod", "pcns.team": "a"}}
	cases := []struct {
		sel  string
		want bool
	}{
		{`app == "web" && env == "dev"`, true},
		{`env == "prod"`, false},
		{`pcns.team == "a" && has(app)`, true},
		{`has(missing)`, false},
	}
	for _, tc := range cases {
		if got := MustParse(tc.sel).Matches(l); got != tc.want {
			t.Errorf("%q.Matches(overlay) = %v, want %v", tc.sel, got, tc.want)
		}
	}
}

func TestMatchesNilLabels(t *testing.T) {
	cases := []struct {
		sel  string
		want bool
	}{
		{`a != "b"`, true},
		{`a not in {"x"}`, true},
		{`has(a)`, false},
		{`a == ""`, false},
		{``, true},
	}
	for _, tc := range cases {
		sel := MustParse(tc.sel)
		if got := sel.Matches(nil); got != tc.want {
			t.Errorf("%q.Matches(nil) = %v, want %v", tc.sel, got, tc.want)
		}
		if got := sel.Matches(Set(nil)); got != tc.want {
			t.Errorf("%q.Matches(Set(nil)) = %v, want %v", tc.sel, got, tc.want)
		}
	}
}

func TestMatchesDoesNotAllocate(t *testing.T) {
	labels := Set{"app": "web", "env": "prod", "tier": "frontend", "version": "v2"}
	big := `tier in {"a","b","c","d","e","f","g","h","i","j","frontend"}`
	for _, s := range []string{
		`app == "web"`,
		`env in {"prod", "staging"}`,
		big,
		`app == "web" && (env in {"prod", "staging"} || has(canary)) && !version starts with "v1"`,
		`a contains "x" || env ends with "od" || app != "db" || tier not in {"back"}`,
		``,
	} {
		sel := MustParse(s)
		var l Labels = labels
		if n := testing.AllocsPerRun(100, func() { sel.Matches(l) }); n != 0 {
			t.Errorf("%q.Matches allocates %v times per run", s, n)
		}
	}
}

func TestValueSet(t *testing.T) {
	for n := 0; n <= 2*linearSetMax+1; n++ {
		vals := make([]string, 0, 2*n)
		for i := n - 1; i >= 0; i-- { // reversed, with every member twice
			vals = append(vals, fmt.Sprint("v", i), fmt.Sprint("v", i))
		}
		s := newValueSet(vals)
		if len(s.sorted) != n {
			t.Fatalf("n=%d: %d members after dedup", n, len(s.sorted))
		}
		if (s.index != nil) != (n > linearSetMax) {
			t.Errorf("n=%d: index built = %v", n, s.index != nil)
		}
		for i := 0; i < n; i++ {
			if !s.contains(fmt.Sprint("v", i)) {
				t.Errorf("n=%d: missing v%d", n, i)
			}
		}
		if s.contains("v") || s.contains(fmt.Sprint("v", n)) {
			t.Errorf("n=%d: contains a non-member", n)
		}
	}
}
