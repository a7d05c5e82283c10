package manifest

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml3 "go.yaml.in/yaml/v3"
)

// lineFinder maps field paths of one document to lines of its file. It parses the document lazily
// (only documents with problems need it) with a position-keeping YAML parser. That parser (YAML
// 1.2) can disagree with kubectl's (YAML 1.1) on exotic input; lines are then simply not reported.
type lineFinder struct {
	text      []byte
	firstLine int
	parsed    bool
	root      *yaml3.Node
}

// line returns the 1-based file line of the field at path, or 0 when it cannot be found.
func (f *lineFinder) line(path fieldPath) int {
	if !f.parsed {
		f.parsed = true
		var doc yaml3.Node
		if err := yaml3.Unmarshal(f.text, &doc); err == nil && len(doc.Content) > 0 {
			f.root = doc.Content[0]
		}
	}
	n := f.root
	if n == nil {
		return 0
	}
	line := n.Line
	for _, s := range path {
		n = resolveAlias(n)
		switch {
		case s.isIndex && n.Kind == yaml3.SequenceNode:
			if s.index >= len(n.Content) {
				return 0
			}
			n = n.Content[s.index]
			line = n.Line
		case s.isIndex && !s.mapKey:
			return 0
		default:
			// A struct field, a map key, or "[3]" read from a path string that is a map key here.
			if n.Kind != yaml3.MappingNode {
				return 0
			}
			var found *yaml3.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == s.key {
					found = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
			if found == nil {
				return 0
			}
			n = found
		}
	}
	if line <= 0 {
		return 0
	}
	return f.firstLine + line - 1
}

func resolveAlias(n *yaml3.Node) *yaml3.Node {
	for i := 0; n.Kind == yaml3.AliasNode && n.Alias != nil && i < 16; i++ {
		n = n.Alias
	}
	return n
}

var (
	yamlLineRE  = regexp.MustCompile(`line (\d+)`)
	nonFiniteRE = regexp.MustCompile(`(?m)(:|^\s*-)\s*[-+]?\.(inf|Inf|INF|nan|NaN|NAN)\s*(#.*)?$`)
)

// yamlSyntaxError turns an error of sigs.k8s.io/yaml on one document into a message and a file
// line: the parser numbers lines from the start of the document, the user needs file lines.
func yamlSyntaxError(err error, text []byte, firstLine int) (msg string, line int) {
	msg = strings.TrimPrefix(err.Error(), "error converting YAML to JSON: ")
	if strings.Contains(msg, "json: unsupported value: ") {
		// YAML's .inf and .nan have no JSON form; the converter names neither the field nor the line.
		line = 0
		if loc := nonFiniteRE.FindIndex(text); loc != nil {
			line = firstLine + strings.Count(string(text[:loc[0]]), "\n")
		}
		return "a number is infinite or not a number (.inf, .nan): Kubernetes objects hold finite numbers only", line
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	var parts []string
	if rest, ok := strings.CutPrefix(msg, "unmarshal errors:"); ok {
		for _, p := range strings.Split(rest, "\n") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
	} else {
		parts = []string{msg}
	}
	for i, p := range parts {
		m := yamlLineRE.FindStringSubmatchIndex(p)
		if m == nil {
			continue
		}
		n, convErr := strconv.Atoi(p[m[2]:m[3]])
		if convErr != nil {
			continue
		}
		abs := firstLine + n - 1
		if line == 0 {
			line = abs
		}
		if m[0] == 0 {
			// "line 3: mapping values are not allowed": the line goes into Error.Line for the
			// first part and in parentheses for the others.
			p = strings.TrimLeft(p[m[1]:], ": ")
			if abs != line {
				p = fmt.Sprintf("%s (line %d)", p, abs)
			}
		} else {
			p = p[:m[2]] + strconv.Itoa(abs) + p[m[3]:]
		}
		parts[i] = p
	}
	return strings.Join(parts, "; "), line
}
