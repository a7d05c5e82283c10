package consistency

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// shBlocks returns the text of each ```sh fenced block of a Markdown document, with the heading
// ("## ...") it sits under.
func shBlocks(t *testing.T, doc string) (blocks, headings []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, doc))
	if err != nil {
		t.Fatal(err)
	}
	var heading string
	var cur *strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "## "):
			heading = strings.TrimPrefix(line, "## ")
		case cur == nil && line == "```sh":
			cur = &strings.Builder{}
		case cur != nil && line == "```":
			blocks = append(blocks, cur.String())
			headings = append(headings, heading)
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return blocks, headings
}

// The README's Helm quickstart is docs/install.md's "With Helm" block, byte for byte: that block is
// run as written against a real API server (test/chart, TestInstallDocHelmCommands), so the README's
// copy is run by it as long as the two are equal.
func TestReadmeInstallIsInstallDoc(t *testing.T) {
	var install string
	blocks, headings := shBlocks(t, "docs/install.md")
	for i, b := range blocks {
		if headings[i] == "With Helm" {
			install = b
			break
		}
	}
	if !strings.Contains(install, "helm install palisade charts/palisade") {
		t.Fatalf("docs/install.md has no \"With Helm\" block installing the chart:\n%s", install)
	}
	var readme string
	blocks, _ = shBlocks(t, "README.md")
	for _, b := range blocks {
		if strings.Contains(b, "helm install ") {
			if readme != "" {
				t.Fatal("README.md has two blocks with helm install: keep one, the copy of docs/install.md's")
			}
			readme = b
		}
	}
	if readme != install {
		t.Errorf("README.md's Helm block differs from docs/install.md's \"With Helm\" block, which is the one a test runs:\n--- README.md\n%s--- docs/install.md\n%s", readme, install)
	}
}
