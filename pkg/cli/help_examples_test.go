package cli

import (
	"strings"
	"testing"
)

// TestHelpExamplesRun runs every help example that reads the repository's examples/ and checks
// that it does its job (exit 0 or 1, never 2): an example that fails teaches the wrong thing
// (issue 13 item 14: the trace example named pods that examples/default-deny does not have).
func TestHelpExamplesRun(t *testing.T) {
	root := NewRootCommand(IOStreams{})
	ran := 0
	for _, cmd := range root.Commands() {
		for _, line := range strings.Split(cmd.Example, "\n") {
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "kubectl palisade ") || !strings.Contains(line, "examples/") || strings.ContainsAny(line, "|>") {
				continue
			}
			args := splitShellWords(strings.TrimPrefix(line, "kubectl palisade "))
			for i, a := range args {
				if strings.HasPrefix(a, "examples/") {
					args[i] = "../../" + a
				}
			}
			ran++
			if r := runCLI("", args...); r.code != 0 && r.code != 1 {
				t.Errorf("help example of %s fails:\n%s", cmd.Name(), r.transcript())
			}
		}
	}
	if ran < 2 {
		t.Fatalf("ran %d help examples: the examples moved", ran)
	}
}

// splitShellWords splits a command line on spaces, keeping single-quoted words whole: enough for
// the help examples.
func splitShellWords(s string) []string {
	var (
		out    []string
		cur    strings.Builder
		quoted bool
		inWord bool
	)
	for _, r := range s {
		switch {
		case r == '\'':
			quoted = !quoted
			inWord = true
		case r == ' ' && !quoted:
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out
}
