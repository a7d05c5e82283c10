package consistency

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// policiesDoc is the user's guide to the policy API.
const policiesDoc = "docs/policies.md"

// minMessageHead is the shortest message start worth requiring: shorter constant parts ("no ", ": ")
// say nothing on their own.
const minMessageHead = 8

// maxMessageHead is how much of a message's start the document must quote.
const maxMessageHead = 24

// errorTypes are the texts apimachinery's field constructors put between the path and the detail.
var errorTypes = map[string]string{
	"Invalid": "Invalid value", "Required": "Required value", "Forbidden": "Forbidden",
	"NotSupported": "Unsupported value", "Duplicate": "Duplicate value", "TooMany": "Too many", "TooLong": "Too long",
}

// detailArg is the argument of each field constructor that holds the detail message.
var detailArg = map[string]int{"Invalid": 2, "Required": 1, "Forbidden": 1}

// TestPoliciesDocListsEveryMessage holds docs/policies.md to pkg/validation, pkg/clustercheck and
// the webhook's own warning: every error detail and warning message those packages write (its constant
// start, read from the source) is quoted in the document, in backquotes, and so is every type of error
// they return. A new refusal or warning fails this test until the document says what it means.
func TestPoliciesDocListsEveryMessage(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root, policiesDoc))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	heads, types := 0, 0
	for _, dir := range []string{"pkg/validation", "pkg/clustercheck", "webhooks/policy"} {
		m := sourceMessages(t, filepath.Join(root, dir))
		for head, where := range m.heads {
			heads++
			if !strings.Contains(text, "`"+head) {
				t.Errorf("%s does not quote the message starting %q (%s): add it to the tables of what admission refuses or warns about", policiesDoc, head, where)
			}
		}
		for typ, where := range m.types {
			types++
			if !strings.Contains(text, "`"+typ+"`") {
				t.Errorf("%s does not name the error type %q (%s)", policiesDoc, typ, where)
			}
		}
	}
	if heads < 40 || types < 5 {
		t.Fatalf("found %d messages and %d error types: the source scan is broken", heads, types)
	}
}

// messages are the message starts and error types of a package, each with where it is written.
type messages struct {
	heads, types map[string]string
}

// sourceMessages reads the non-test Go files of a package and returns the constant start of every
// detail given to field.Invalid, field.Required and field.Forbidden, of every c.warn message and of
// every Message of a Warning literal, and the error types of the field constructors it calls.
func sourceMessages(t *testing.T, dir string) messages {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var parsed []*ast.File
	consts := map[string]ast.Expr{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, file)
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						consts[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	m := messages{heads: map[string]string{}, types: map[string]string{}}
	add := func(e ast.Expr, at token.Pos) {
		if h := messageHead(e, consts); h != "" {
			m.heads[h] = fset.Position(at).String()
		}
	}
	for _, file := range parsed {
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				pkg, _ := sel.X.(*ast.Ident)
				switch {
				case pkg != nil && pkg.Name == "field" && errorTypes[sel.Sel.Name] != "":
					m.types[errorTypes[sel.Sel.Name]] = fset.Position(n.Pos()).String()
					if i, ok := detailArg[sel.Sel.Name]; ok && i < len(n.Args) {
						add(n.Args[i], n.Pos())
					}
				case sel.Sel.Name == "warn" && len(n.Args) == 2:
					add(n.Args[1], n.Pos())
				}
			case *ast.CompositeLit:
				if !isWarningType(n.Type) {
					return true
				}
				for _, el := range n.Elts {
					if kv, ok := el.(*ast.KeyValueExpr); ok {
						if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Message" {
							add(kv.Value, kv.Pos())
						}
					}
				}
			}
			return true
		})
	}
	return m
}

func isWarningType(e ast.Expr) bool {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name == "Warning"
	case *ast.SelectorExpr:
		return e.Sel.Name == "Warning"
	}
	return false
}

// messageHead returns the constant start of a message expression: the first constant part of a
// concatenation that says something (minMessageHead characters or more), or the text of a
// fmt.Sprintf format before its first verb, cut to whole words within maxMessageHead characters and trimmed of the
// punctuation that would follow it; "" when the message is not written here (a variable from
// apimachinery's validators).
func messageHead(e ast.Expr, consts map[string]ast.Expr) string {
	var parts []ast.Expr
	var flatten func(ast.Expr)
	flatten = func(e ast.Expr) {
		if b, ok := e.(*ast.BinaryExpr); ok && b.Op == token.ADD {
			flatten(b.X)
			flatten(b.Y)
			return
		}
		parts = append(parts, e)
	}
	flatten(e)
	for _, p := range parts {
		s, ok := constString(p, consts, 0)
		if !ok {
			if call, isCall := p.(*ast.CallExpr); isCall && isSprintf(call) && len(call.Args) > 0 {
				if f, ok := constString(call.Args[0], consts, 0); ok {
					s, _, _ = strings.Cut(f, "%")
				}
			}
		}
		s = strings.TrimSpace(s)
		if len(s) < minMessageHead {
			continue
		}
		if len(s) > maxMessageHead {
			cutsWord := !strings.ContainsAny(s[maxMessageHead:maxMessageHead+1], " :;,.(")
			s = s[:maxMessageHead]
			if i := strings.LastIndex(s, " "); cutsWord && i >= minMessageHead {
				s = s[:i] // whole words: the document quotes "Log is the last rule", not "... rule: ma"
			}
		}
		return strings.TrimRight(s, " :;,.(")
	}
	return ""
}

func isSprintf(c *ast.CallExpr) bool {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "fmt" && sel.Sel.Name == "Sprintf"
}

// constString evaluates a string constant expression: literals, package constants and their
// concatenations.
func constString(e ast.Expr, consts map[string]ast.Expr, depth int) (string, bool) {
	if depth > 20 {
		return "", false
	}
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.Ident:
		if v, ok := consts[e.Name]; ok {
			return constString(v, consts, depth+1)
		}
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		x, ok1 := constString(e.X, consts, depth+1)
		y, ok2 := constString(e.Y, consts, depth+1)
		return x + y, ok1 && ok2
	case *ast.ParenExpr:
		return constString(e.X, consts, depth+1)
	}
	return "", false
}

// TestPoliciesDocExamplesLint runs kubectl palisade lint on every complete policy (a YAML block
// starting with apiVersion) of docs/policies.md: the document's examples must be valid policies.
func TestPoliciesDocExamplesLint(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, policiesDoc))
	if err != nil {
		t.Fatal(err)
	}
	var objects []docCommand // file and line of each block, its YAML as text
	var cur *docCommand
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```yaml":
			cur = &docCommand{file: policiesDoc, line: i + 2}
		case cur != nil && strings.TrimSpace(line) == "```":
			if strings.HasPrefix(cur.text, "apiVersion:") {
				objects = append(objects, *cur)
			}
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if len(objects) < 3 {
		t.Fatalf("found %d complete policies in %s: the extraction is broken", len(objects), policiesDoc)
	}
	bin := toolDir(t)
	for _, o := range objects {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(path, []byte(o.text), 0o600); err != nil {
			t.Fatal(err)
		}
		got := runDocCommand(t, bin, docCommand{file: o.file, line: o.line, text: "kubectl palisade lint -f " + path})
		if !strings.HasSuffix(string(got), "[exit status 0]\n") {
			t.Errorf("%s: the policy of this block does not lint clean:\n%s", o.where(), got)
		}
	}
}

// exampleRef is a mention of an example file in the prose before a code block.
var exampleRef = regexp.MustCompile("`(examples/[A-Za-z0-9_./-]+\\.yaml)`")

// TestPoliciesDocQuotesExamplesAsTheyAre checks every YAML block of docs/policies.md that the prose
// just before it says comes from a file of examples/ (the last such file named since the previous
// block): each line of the block, indentation and comments included, is a line of that file, in the
// same order (a block may leave lines out, never change them).
func TestPoliciesDocQuotesExamplesAsTheyAre(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, policiesDoc))
	if err != nil {
		t.Fatal(err)
	}
	var (
		prose   strings.Builder
		inBlock bool
		ref     string
		block   []string
		start   int
		checked int
	)
	for i, line := range strings.Split(string(raw), "\n") {
		switch {
		case !inBlock && strings.HasPrefix(strings.TrimSpace(line), "```"):
			inBlock, start, block = true, i+2, nil
			ref = ""
			if m := exampleRef.FindAllStringSubmatch(prose.String(), -1); len(m) > 0 && strings.TrimSpace(line) == "```yaml" {
				ref = m[len(m)-1][1]
			}
			prose.Reset()
		case inBlock && strings.TrimSpace(line) == "```":
			inBlock = false
			if ref != "" {
				checked++
				checkQuoted(t, ref, block, start)
			}
		case inBlock:
			block = append(block, line)
		default:
			prose.WriteString(line + "\n")
		}
	}
	if checked < 6 {
		t.Fatalf("checked %d blocks quoted from examples/: the extraction is broken", checked)
	}
}

func checkQuoted(t *testing.T, ref string, block []string, start int) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, ref))
	if err != nil {
		t.Errorf("%s:%d: the block says it comes from %s: %v", policiesDoc, start, ref, err)
		return
	}
	lines := strings.Split(string(raw), "\n")
	at := 0
	for i, want := range block {
		if strings.TrimSpace(want) == "" {
			continue
		}
		found := false
		for ; at < len(lines); at++ {
			if lines[at] == want {
				found, at = true, at+1
				break
			}
		}
		if !found {
			t.Errorf("%s:%d: %q is not a line of %s (after the lines before it): the example changed, or the block was edited", policiesDoc, start+i, want, ref)
			return
		}
	}
}
