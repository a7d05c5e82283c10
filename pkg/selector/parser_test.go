package selector

import (
	"errors"
	"strings"
	"testing"
)

var (
	label512 = strings.Repeat("k", MaxLabelLength)
	label513 = strings.Repeat("k", MaxLabelLength+1)
)

// parseOKCases pairs valid selectors with their canonical form. Rows marked
// "doc" come from docs/semantics.md §4 (4.1-4.5) or Calico's
// parser_test.go as quoted there; the rest are Palisade's own corpus.
var parseOKCases = []struct {
	in, canon string
}{
	// Empty and blank selectors are all() (doc 4.2, 4.5).
	{"", "all()"},
	{"   ", "all()"},
	{"\t \t", "all()"},
	{"all()", "all()"},
	{" all() ", "all()"},
	{"all( )", "all()"},
	{"all(\t)", "all()"},
	{" (all() )", "all()"},
	{"global()", "global()"},
	{"global(  )", "global()"},
	{" global() ", "global()"},

	// Comparisons and quoting (doc 4.1, 4.3).
	{`a == "b"`, `a == "b"`},
	{`a == 'b'`, `a == "b"`},
	{`a=="b"`, `a == "b"`},
	{"a\t==\t'b'", `a == "b"`},
	{`a != 'b'`, `a != "b"`},
	{`a!='"'`, `a != '"'`},
	{`a == "'"`, `a == "'"`},
	{`a == '"'`, `a == '"'`},
	{`a == ""`, `a == ""`},
	{`a == ''`, `a == ""`},
	{`a contains '"'`, `a contains '"'`},
	{`a contains "'"`, `a contains "'"`},
	{`a contains ""`, `a contains ""`},
	{`a contains"x"`, `a contains "x"`},
	{`a startswith '"'`, `a starts with '"'`},
	{`a endswith "'"`, `a ends with "'"`},
	{`a starts with "x"`, `a starts with "x"`},
	{"a starts\twith 'x'", `a starts with "x"`},
	{`a ends   with "x"`, `a ends with "x"`},
	{`a ends with ""`, `a ends with ""`},
	{`a == "with spaces && || ! ( ) { } , ="`, `a == "with spaces && || ! ( ) { } , ="`},
	{`a == "日本語"`, `a == "日本語"`},
	{"a == \"new\nline\"", "a == \"new\nline\""},
	{`a == "all()"`, `a == "all()"`},
	{`a == 'global('`, `a == "global("`},
	{`projectcalico.org/namespace == 'ns1'`, `projectcalico.org/namespace == "ns1"`},

	// Labels: 1-512 chars of [a-zA-Z0-9_./-] (doc 4.1).
	{`1 == "x"`, `1 == "x"`},
	{`-a == "x"`, `-a == "x"`},
	{`a.b/c-d_e == "x"`, `a.b/c-d_e == "x"`},
	{`calico/k8s_NS-.1/role == "db"`, `calico/k8s_NS-.1/role == "db"`},
	{label512 + ` == "x"`, label512 + ` == "x"`},
	{"has(" + label512 + ")", "has(" + label512 + ")"},
	{`/ == "x"`, `/ == "x"`},

	// Sets: empty, trailing comma, dedup and sort (doc 4.2, 4.3).
	{`a in {}`, `a in {}`},
	{`a in { }`, `a in {}`},
	{`a not in {}`, `a not in {}`},
	{`a in {"x",}`, `a in {"x"}`},
	{`a in {"x" , "y" ,}`, `a in {"x", "y"}`},
	{`a in {"d"}`, `a in {"d"}`},
	{`a in {"a", "b"}`, `a in {"a", "b"}`},
	{`a in {"d", "a", "b"}`, `a in {"a", "b", "d"}`},
	{`a in {"z", "x", "y", "a"}`, `a in {"a", "x", "y", "z"}`},
	{`a in {"z", "z", "x", "y", "x", "a"}`, `a in {"a", "x", "y", "z"}`},
	{`a in {"'", '"', "c"}`, `a in {'"', "'", "c"}`},
	{`a in {'x'}`, `a in {"x"}`},
	{`a in{"x"}`, `a in {"x"}`},
	{`a in {"", ""}`, `a in {""}`},
	{`a not in {"x", "y"}`, `a not in {"x", "y"}`},
	{`a notin {"x"}`, `a not in {"x"}`},
	{"a not\t in {'x'}", `a not in {"x"}`},
	{`a notin{}`, `a not in {}`},
	{`a in {"b", "B", "a", "A"}`, `a in {"A", "B", "a", "b"}`},

	// has(): spaces allowed inside the parentheses (doc 4.1).
	{`has(a)`, `has(a)`},
	{`has( a )`, `has(a)`},
	{"has(\ta\t)", `has(a)`},
	{`has(calico/k8s_NS-.1/role)`, `has(calico/k8s_NS-.1/role)`},

	// Negation: applies to one op, collapsed by parity (doc 4.2).
	{`!has(a)`, `!has(a)`},
	{`! has(a)`, `!has(a)`},
	{`!!has(a)`, `has(a)`},
	{`!!!has(a)`, `!has(a)`},
	{`!! ! has(a)`, `!has(a)`},
	{`! !!has(a)`, `!has(a)`},
	{`!(!has(a))`, `has(a)`},
	{`!!(!has(a))`, `!has(a)`},
	{`!a == "x"`, `!a == "x"`},
	{`! a == "x"`, `!a == "x"`},
	{`!(a == "x")`, `!a == "x"`},
	{`!((a == "x"))`, `!a == "x"`},
	{`!a in {"a"}`, `!a in {"a"}`},
	{`!all()`, `!all()`},
	{`!global()`, `!global()`},
	{`!(!a == "x")`, `a == "x"`},
	{`!!(a == "x" && b == "y")`, `(a == "x" && b == "y")`},
	{`!(!(a == "x" && b == "y"))`, `(a == "x" && b == "y")`},
	{`!a == "x" && b == "y"`, `(!a == "x" && b == "y")`},

	// Groups and precedence || < && < ! (doc 4.2, 4.3).
	{`(a == "x")`, `a == "x"`},
	{`((a == "x"))`, `a == "x"`},
	{`(has(a))`, `has(a)`},
	{`a == "x" && b == "y"`, `(a == "x" && b == "y")`},
	{`a == "x" || b == "y"`, `(a == "x" || b == "y")`},
	{`has(a)&&has(b)`, `(has(a) && has(b))`},
	{`has(a)||has(b)`, `(has(a) || has(b))`},
	{`a==""&&b!=""`, `(a == "" && b != "")`},
	{`a == "x" && b == "y" && c == "z"`, `(a == "x" && b == "y" && c == "z")`},
	{`a == "x" || b == "y" || c == "z"`, `(a == "x" || b == "y" || c == "z")`},
	{`(a == "x" && b == "y") && c == "z"`, `((a == "x" && b == "y") && c == "z")`},
	{`a == "x" && (b == "y" && c == "z")`, `(a == "x" && (b == "y" && c == "z"))`},
	{`(a == "x" && b == "y")`, `(a == "x" && b == "y")`},
	{`((a == "x" && b == "y"))`, `(a == "x" && b == "y")`},
	{`a == "x" || b == "y" && c == "z"`, `(a == "x" || (b == "y" && c == "z"))`},
	{`a == "x" && b == "y" || c == "z"`, `((a == "x" && b == "y") || c == "z")`},
	{`(a == "x" || b == "y") && c == "z"`, `((a == "x" || b == "y") && c == "z")`},
	{`(a == "x" || b == "y") && (c == "z" || d == "w")`, `((a == "x" || b == "y") && (c == "z" || d == "w"))`},
	{`a == 'x' && !(b == 'y' || !has(c))`, `(a == "x" && !(b == "y" || !has(c)))`},
	{`x == "a" || !x == "b" || has(y)`, `(x == "a" || !x == "b" || has(y))`},
	{`! (has( b)||! has(a ))`, `!(has(b) || !has(a))`},
	{`! (a == "b"&&! c != "d")`, `!(a == "b" && !c != "d")`},
	{`a in {"x"} && b not in {"y"}`, `(a in {"x"} && b not in {"y"})`},
	{`all() && has(a)`, `(all() && has(a))`},
	{`global() || all()`, `(global() || all())`},
	{`global()&&all()`, `(global() && all())`},

	// Operator words are labels at the start of a term (doc 4.1).
	{`contains contains "contains"`, `contains contains "contains"`},
	{`in in {"in"}`, `in in {"in"}`},
	{`has == "x"`, `has == "x"`},
	{`all == "x"`, `all == "x"`},
	{`global == "x"`, `global == "x"`},
	{`not == "x"`, `not == "x"`},
	{`starts starts with "x"`, `starts starts with "x"`},
	{`ends endswith "x"`, `ends ends with "x"`},
	{`in contains "x"`, `in contains "x"`},
	{`contains in {}`, `contains in {}`},
	{`notin notin {}`, `notin not in {}`},
	{`with == "x" && starts startswith "with"`, `(with == "x" && starts starts with "with")`},
	{`hasx == "y"`, `hasx == "y"`},

	// Realistic selectors of the kind the user guides write.
	{`role == 'frontend' && env in {'prod', 'staging'} && !has(quarantine)`,
		`(role == "frontend" && env in {"prod", "staging"} && !has(quarantine))`},
	{`app.kubernetes.io/name == "db" || tier in {"data",}`,
		`(app.kubernetes.io/name == "db" || tier in {"data"})`},
	{`projectcalico.org/namespace == "prod" && projectcalico.org/serviceaccount in {"api", "web"}`,
		`(projectcalico.org/namespace == "prod" && projectcalico.org/serviceaccount in {"api", "web"})`},
	{`kubernetes.io/metadata.name not in {"kube-system", "calico-system"}`,
		`kubernetes.io/metadata.name not in {"calico-system", "kube-system"}`},
	{`image starts with "registry.internal/" && !(image ends with ":latest")`,
		`(image starts with "registry.internal/" && !image ends with ":latest")`},
}

// parseErrCases are invalid selectors with the byte position and expectation
// the error must report.
var parseErrCases = []struct {
	in       string
	pos      int
	expected string
}{
	// Invalid examples of doc 4.5.
	{`b == b`, 5, expectString},
	{`'b1' == b`, 0, expectTerm},
	{`b`, 1, expectOperator},
	{`has (a)`, 4, expectOperator},
	{`has()`, 4, expectLabel},
	{`a = "b"`, 2, expectOperator},
	{`a in {x}`, 6, expectSetMember},
	{`a in {,}`, 6, expectSetMember},
	{`a == "x" b == "y"`, 9, expectEnd},
	{`a:b == "x"`, 1, expectOperator},
	{"a == \"b\"\n", 8, expectEnd},
	{`()`, 1, expectTerm},

	// Other corners of doc 4.1/4.2 and Calico's bad-selector list.
	{`b contains b`, 11, expectString},
	{`b starts with b`, 14, expectString},
	{`b ends with b`, 12, expectString},
	{`a b`, 2, expectOperator},
	{`!`, 1, expectTerm},
	{`foo == "bar" &`, 13, expectEnd},
	{`foo == "bar" |`, 13, expectEnd},
	{`foo != ||`, 7, expectString},
	{`foo in {"", ||`, 12, expectSetMember},
	{`foo in ""`, 7, expectSetStart},
	{`(`, 1, expectTerm},
	{`(a == "foo"`, 11, expectCloseParen},
	{`)`, 0, expectTerm},
	{`%`, 0, expectTerm},
	{`a == "b" && %`, 12, expectTerm},
	{`a == "b" || %`, 12, expectTerm},
	{`a `, 2, expectOperator},
	{`has(foo) &&`, 11, expectTerm},
	{"a == \"b\"\r", 8, expectEnd},
	{"a == \"b\"\r\n", 8, expectEnd},
	{"\na == \"b\"", 0, expectTerm},
	{"a ==\n\"b\"", 4, expectString},
	{"a == \"b\" &&\nc == \"d\"", 11, expectTerm},
	{"has(\na)", 4, expectLabel},
	{`has(`, 4, expectLabel},
	{`has(a`, 5, expectHasClose},
	{`has(a b)`, 6, expectHasClose},
	{`has(a:b)`, 5, expectHasClose},
	{`has(a))`, 6, expectEnd},
	{`has("a")`, 4, expectLabel},
	{`all(x)`, 4, expectEmptyParen},
	{`all(`, 4, expectEmptyParen},
	{`all (  )`, 4, expectOperator},
	{`global(x)`, 7, expectEmptyParen},
	{`global (`, 7, expectOperator},
	{`a in {"x",,}`, 10, expectSetMember},
	{`a in {"x" "y"}`, 10, expectSetNext},
	{`a in {"x"`, 9, expectSetNext},
	{`a in {"x", "y"`, 14, expectSetNext},
	{`a in {"x",`, 10, expectSetMember},
	{`a in "x"`, 5, expectSetStart},
	{`a in`, 4, expectSetStart},
	{`a not in`, 8, expectSetStart},
	{`a in {"x"}}`, 10, expectEnd},
	{`a in ("x")`, 5, expectSetStart},
	{`a == {"x"}`, 5, expectString},
	{`{"x"}`, 0, expectTerm},
	{`a not "x"`, 2, expectOperator},
	{`a starts "x"`, 2, expectOperator},
	{`a ends`, 2, expectOperator},
	{`a inx {"x"}`, 2, expectOperator},
	{`a containsx "x"`, 2, expectOperator},
	{`a notinx {}`, 2, expectOperator},
	{`a contains-x "y"`, 2, expectOperator},
	{`a in-x {}`, 2, expectOperator},
	{`a in.x {}`, 2, expectOperator},
	{`a startswith/ "x"`, 2, expectOperator},
	{`a & b`, 2, expectOperator},
	{`a | b`, 2, expectOperator},
	{`a == "x" & b == "y"`, 9, expectEnd},
	{`a == "x" | b == "y"`, 9, expectEnd},
	{`a == "x" &&`, 11, expectTerm},
	{`a == "x" ||`, 11, expectTerm},
	{`&& a == "x"`, 0, expectTerm},
	{`|| a == "x"`, 0, expectTerm},
	{`a == "x" ||| b == "y"`, 11, expectTerm},
	{`a == "x" && && b == "y"`, 12, expectTerm},
	{`a === "x"`, 4, expectString},
	{`a !== "x"`, 4, expectString},
	{`a == !"x"`, 5, expectString},
	{`a == "x")`, 8, expectEnd},
	{`(a == "x"))`, 10, expectEnd},
	{`((a == "x")`, 11, expectCloseParen},
	{`a == "x" && ()`, 13, expectTerm},
	{`!()`, 2, expectTerm},
	{`a@b == "x"`, 1, expectOperator},
	{`a == "x" && b`, 13, expectOperator},
	{`a == "x",`, 8, expectEnd},
	{`!a`, 2, expectOperator},
	{`a ==`, 4, expectString},
	{`== "x"`, 0, expectTerm},
	{`a == x`, 5, expectString},
	{`a == "x" && "y"`, 12, expectTerm},
	{`a == "x" !`, 9, expectEnd},
	{`a == "x" (b == "y")`, 9, expectEnd},
	{`a == "it's "quoted""`, 12, expectEnd},
	{"a == \"x\"\x00", 8, expectEnd},
	{`a == "x" é`, 9, expectEnd},
	{`é == "x"`, 0, expectTerm},
	{`a == 'x' and b == 'y'`, 9, expectEnd},
	{`a == 'x' or b == 'y'`, 9, expectEnd},
	{`not a == "x"`, 4, expectOperator},
	{`a IN {"x"}`, 2, expectOperator},
	{`a Contains "x"`, 2, expectOperator},
	{`ALL()`, 3, expectOperator},
	{`Has(a)`, 3, expectOperator},
}

// Errors raised by the lexer itself carry their own expectation text.
var parseLexErrCases = []struct {
	in    string
	pos   int
	found string
}{
	{`"FOO`, 0, endOfInput},
	{`"FOO'`, 0, endOfInput},
	{`'FOO`, 0, endOfInput},
	{`a == "b`, 5, endOfInput},
	{`a == 'b"`, 5, endOfInput},
	{`a in {"x", 'y}`, 11, endOfInput},
	{`a == "x" || 'open`, 12, endOfInput},
	{`a == "x" && 'open`, 12, endOfInput},
	{`!'open`, 1, endOfInput},
	{`('open`, 1, endOfInput},
	{`(a == "x" 'open`, 10, endOfInput},
	{`a 'open`, 2, endOfInput},
	{`a in 'open`, 5, endOfInput},
	{`a in {'open`, 6, endOfInput},
	{`a in {"x"'open`, 9, endOfInput},
	{`a in {"x", 'open`, 11, endOfInput},
	{`a in {"x"} && 'open`, 14, endOfInput},
	{`a == "x" && has(`, 16, endOfInput},
	{`a == "x" && all(`, 16, endOfInput},
	{label513 + ` == "x"`, 0, "label too long (513 characters)"},
	{`a == "x" && ` + label513 + ` == "x"`, 12, "label too long (513 characters)"},
	{"has(" + label513 + ")", 4, "label too long (513 characters)"},
	{"has( " + label513 + ")", 5, "label too long (513 characters)"},
}

func TestParseOK(t *testing.T) {
	for _, tc := range parseOKCases {
		sel, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): unexpected error: %v", tc.in, err)
			continue
		}
		if got := sel.String(); got != tc.canon {
			t.Errorf("Parse(%q).String() = %q, want %q", tc.in, got, tc.canon)
		}
		if err := Validate(tc.in); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", tc.in, err)
		}
		// The canonical form is a fixed point and keeps the unique ID.
		again, err := Parse(sel.String())
		if err != nil {
			t.Errorf("re-parsing canonical %q of %q: %v", sel.String(), tc.in, err)
			continue
		}
		if again.String() != sel.String() || again.UniqueID() != sel.UniqueID() {
			t.Errorf("canonical %q re-parses as %q (%s vs %s)", sel.String(), again.String(), again.UniqueID(), sel.UniqueID())
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrCases {
		checkParseError(t, tc.in, tc.pos)
		var pe *ParseError
		if _, err := Parse(tc.in); errors.As(err, &pe) && pe.Expected != tc.expected {
			t.Errorf("Parse(%q): Expected = %q, want %q (%v)", tc.in, pe.Expected, tc.expected, err)
		}
	}
	for _, tc := range parseLexErrCases {
		checkParseError(t, tc.in, tc.pos)
		var pe *ParseError
		if _, err := Parse(tc.in); errors.As(err, &pe) && pe.Found != tc.found {
			t.Errorf("Parse(%q): Found = %q, want %q (%v)", tc.in, pe.Found, tc.found, err)
		}
	}
}

// checkParseError asserts that Parse and Validate both reject in with a
// *ParseError at pos.
func checkParseError(t *testing.T, in string, pos int) {
	t.Helper()
	sel, err := Parse(in)
	if err == nil {
		t.Errorf("Parse(%q) = %q, want error", shorten(in), shorten(sel.String()))
		return
	}
	if sel != nil {
		t.Errorf("Parse(%q) returned a selector with its error", shorten(in))
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Errorf("Parse(%q) error %T is not a *ParseError: %v", shorten(in), err, err)
		return
	}
	if pe.Input != in || pe.Pos != pos {
		t.Errorf("Parse(%q): error at position %d, want %d (%s)", shorten(in), pe.Pos, pos, shorten(err.Error()))
	}
	if verr := Validate(in); verr == nil || verr.Error() != err.Error() {
		t.Errorf("Validate(%q) differs from the Parse error", shorten(in))
	}
}

func TestParseNesting(t *testing.T) {
	deep := func(n int) string {
		return strings.Repeat("(", n) + `a == "x"` + strings.Repeat(")", n)
	}
	if sel, err := Parse(deep(MaxNesting)); err != nil || sel.String() != `a == "x"` {
		t.Errorf("Parse(%d nested parens) = %v, %v; want a == \"x\"", MaxNesting, sel, err)
	}
	checkParseError(t, deep(MaxNesting+1), MaxNesting)

	// Nested groups: the canonical form must stay re-parseable, so a source
	// at the paren limit whose top-level group adds one more level is refused.
	groups := func(n int) string {
		s := `a == "x" && c == "z"`
		for i := 0; i < n; i++ {
			s = `b == "y" && (` + s + `)`
		}
		return s
	}
	sel, err := Parse(groups(MaxNesting - 1))
	if err != nil {
		t.Fatalf("Parse(%d nested groups): %v", MaxNesting, err)
	}
	if _, err := Parse(sel.String()); err != nil {
		t.Errorf("canonical form of %d nested groups does not re-parse: %v", MaxNesting, err)
	}
	checkParseError(t, groups(MaxNesting), 0)

	// "!" runs are collapsed iteratively and are not nesting.
	bangs := strings.Repeat("!", 100001) + "has(a)"
	if sel, err := Parse(bangs); err != nil || sel.String() != "!has(a)" {
		t.Errorf("Parse(100001 x !) = %v, %v; want !has(a)", sel, err)
	}
}

func TestParseErrorMessage(t *testing.T) {
	cases := []struct{ in, want string }{
		{`a = 'b'`, `selector "a = 'b'": at position 2: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "="`},
		{`b == b`, `selector "b == b": at position 5: expected a quoted string, found label "b"`},
		{"a == \"b\"\n", `selector "a == \"b\"\n": at position 8: expected "&&", "||" or end of input, found "\n"`},
		{`'b1' == b`, `selector "'b1' == b": at position 0: expected a label, "!", "(", "has(label)", "all()" or "global()", found string "'b1'"`},
		{`a == "b`, `selector "a == \"b": at position 5: expected a closing " for the string starting here, found end of input`},
		{`has(a b)`, `selector "has(a b)": at position 6: expected ")" after the label in has(...), found "b"`},
		{label513, `selector "` + label513 + `": at position 0: expected a label of at most 512 characters, found label too long (513 characters)`},
		{`a == "x" && ` + strings.Repeat("z", 100) + " b", `selector "a == \"x\" && ` + strings.Repeat("z", 100) + ` b": at position 113: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found label "b"`},
		{`a == "x" && b ` + strings.Repeat("z", 100), `selector "a == \"x\" && b ` + strings.Repeat("z", 100) + `": at position 14: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found label "` + strings.Repeat("z", 40) + `..."`},
	}
	for _, tc := range cases {
		_, err := Parse(tc.in)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Parse(%q) error:\n got %v\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestMustParse(t *testing.T) {
	if got := MustParse(`a == 'b'`).String(); got != `a == "b"` {
		t.Errorf("MustParse: got %q", got)
	}
	defer func() {
		r := recover()
		if r == nil {
			t.Fatal("MustParse of an invalid selector did not panic")
		}
		if msg, _ := r.(string); !strings.HasPrefix(msg, "selector.MustParse: selector \"a = 'b'\": at position 2") {
			t.Errorf("MustParse panic message = %v", r)
		}
	}()
	MustParse(`a = 'b'`)
}

func TestEmptyIsAll(t *testing.T) {
	for _, in := range []string{"", " ", "\t", "all()", "(all())"} {
		sel, err := Parse(in)
		if err != nil || sel != All {
			t.Errorf("Parse(%q) = %v, %v; want All", in, sel, err)
		}
	}
	if err := Validate(""); err != nil {
		t.Errorf("Validate(\"\") = %v", err)
	}
}
