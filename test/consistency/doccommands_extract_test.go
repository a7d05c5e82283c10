package consistency

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// docCommand is one shell command of a fenced code block of the documentation: the file (relative to
// the repository root), the line its first line is on, and its text with line continuations joined,
// comments dropped and blanks collapsed.
type docCommand struct {
	file string
	line int
	text string
}

func (c docCommand) where() string { return c.file + ":" + strconv.Itoa(c.line) }

// shellLanguages are the info strings of fenced blocks that hold shell commands.
var shellLanguages = []string{"sh", "bash", "shell", "console"}

// commandWords are the first words that make a line of an unlabelled fenced block a shell command
// (docs/benchmarks.md writes its go test commands without a language), as does a compiled test
// binary (a first word ending in .test); diagrams and pseudo-code start with none of them.
var commandWords = []string{"go", "kubectl", "helm", "make", "sudo", "docker", "skopeo", "crane",
	"iptables-save", "ip6tables-save", "ipset", "bash", "curl", "git", "bin/palisade-lab", "palisade-enforcer", "palisade-lab"}

// docFiles are the documents whose commands must be run: the README and docs/*.md.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, filepath.ToSlash(rel))
	}
	if len(out) < 5 {
		t.Fatalf("found only %v: the documentation moved", out)
	}
	return out
}

// docCommands returns every shell command of the fenced code blocks of the documents.
func docCommands(t *testing.T) []docCommand {
	t.Helper()
	var out []docCommand
	for _, f := range docFiles(t) {
		out = append(out, fileCommands(t, f)...)
	}
	return out
}

func fileCommands(t *testing.T, file string) []docCommand {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	var (
		out      []docCommand
		inBlock  bool
		fence    string // the fence's indentation and backticks, to find its end
		lang     string
		pending  strings.Builder
		startsAt int
	)
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if !inBlock {
			if strings.HasPrefix(trimmed, "```") {
				inBlock, fence = true, line[:len(line)-len(strings.TrimLeft(line, " "))]+"```"
				lang = strings.TrimSpace(strings.TrimPrefix(trimmed, "```"))
			}
			continue
		}
		if strings.HasPrefix(line, fence) && strings.TrimSpace(strings.TrimPrefix(line, fence)) == "" || trimmed == "```" {
			inBlock = false
			if pending.Len() > 0 {
				t.Errorf("%s:%d: a line continuation runs off the end of its code block", file, startsAt)
				pending.Reset()
			}
			continue
		}
		labelled := slices.Contains(shellLanguages, lang)
		if !labelled && lang != "" {
			continue // yaml, json, text...
		}
		if lang == "console" && pending.Len() == 0 && !strings.HasPrefix(trimmed, "$ ") {
			continue // a console block's output; its commands start with "$ "
		}
		text := stripComment(trimmed)
		text = strings.TrimPrefix(text, "$ ")
		if pending.Len() == 0 {
			if text == "" {
				continue
			}
			if first := strings.Fields(text)[0]; !labelled && !slices.Contains(commandWords, first) && !strings.HasSuffix(first, ".test") {
				continue
			}
			startsAt = n
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			pending.WriteString(cont + " ")
			continue
		}
		pending.WriteString(text)
		out = append(out, docCommand{file: file, line: startsAt, text: strings.Join(strings.Fields(pending.String()), " ")})
		pending.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stripComment drops a shell comment: a # at the start of the line or after a blank, outside quotes.
func stripComment(s string) string {
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t'):
			return strings.TrimSpace(s[:i])
		}
	}
	return strings.TrimSpace(s)
}
