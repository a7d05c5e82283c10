package consistency

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// root is the repository root, from this package.
var root = filepath.Join("..", "..")

// trackedFiles returns the repository's tracked files with one of the extensions, as paths relative
// to the root.
func trackedFiles(t *testing.T, exts ...string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("listing the repository's files (git ls-files): %v", err)
	}
	var files []string
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if slices.Contains(exts, filepath.Ext(f)) {
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		t.Fatalf("no %v files tracked", exts)
	}
	return files
}

// pendingCitations are files, owned by work in progress elsewhere, that still cite the semantics
// reference that is not in the repository (policy-semantics.md under docs, "semantics doc §", or a bare
// "semantics §"). TODO(issue 12): replace their citations with docs/semantics.md and drop them here.
var pendingCitations = map[string]bool{}

var (
	// missingReference is a citation of a document that is not in the repository.
	missingReference = regexp.MustCompile(`policy-semantics\.md|semantics doc\b|semantics reference|(^|[^/.\w])semantics §`)
	// docCitation is a citation of a document under docs/, with an optional section.
	docCitation = regexp.MustCompile(`docs/([A-Za-z0-9_-]+\.md)(?:\s+§([0-9]+(?:\.[0-9]+)?))?`)
	// heading is a numbered heading of a document: "## 5. …", "### 5.2 …", "### 1.3–1.5 …".
	heading = regexp.MustCompile(`(?m)^#{2,4} ([0-9]+)(?:\.([0-9]+))?(?:[–-]([0-9]+)\.([0-9]+))?[. ]`)
)

// sections returns the numbered sections of a document: "5", "5.2", and each of a range "1.3–1.5".
func sections(t *testing.T, doc string) map[string]bool {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "docs", doc))
	if err != nil {
		t.Fatalf("docs/%s: %v", doc, err)
	}
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(string(raw), -1) {
		out[m[1]] = true
		if m[2] == "" {
			continue
		}
		out[m[1]+"."+m[2]] = true
		if m[4] != "" {
			lo, _ := strconv.Atoi(m[2])
			hi, _ := strconv.Atoi(m[4])
			for i := lo; i <= hi; i++ {
				out[m[1]+"."+strconv.Itoa(i)] = true
			}
		}
	}
	return out
}

func TestCitationsNameDocumentsAndSectionsThatExist(t *testing.T) {
	docs := map[string]map[string]bool{}
	for _, f := range trackedFiles(t, ".go", ".md", ".yaml", ".sh") {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if missingReference.MatchString(line) && !pendingCitations[f] && f != "test/consistency/consistency_test.go" {
				t.Errorf("%s:%d cites a semantics reference that is not in the repository; cite docs/semantics.md §N: %s", f, n, strings.TrimSpace(line))
			}
			if pendingCitations[f] {
				continue
			}
			for _, m := range docCitation.FindAllStringSubmatch(line, -1) {
				doc, sec := m[1], m[2]
				if docs[doc] == nil {
					if _, err := os.Stat(filepath.Join(root, "docs", doc)); err != nil {
						t.Errorf("%s:%d cites docs/%s, which does not exist", f, n, doc)
						docs[doc] = map[string]bool{}
						continue
					}
					docs[doc] = sections(t, doc)
				}
				if sec != "" && !docs[doc][sec] {
					t.Errorf("%s:%d cites docs/%s §%s, which has no such section", f, n, doc, sec)
				}
			}
		}
	}
	for f := range pendingCitations {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err == nil && !missingReference.Match(raw) {
			t.Logf("%s cites docs/semantics.md now; drop it from pendingCitations", f)
		}
	}
}

// TestProjectListsWhatExists: a resource marked controller: true has a controller file, and one
// with webhooks has them in config/webhook.
func TestProjectListsWhatExists(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "PROJECT"))
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		Resources []struct {
			Group, Kind, Domain string
			Controller          bool
			Webhooks            *struct {
				Defaulting, Validation bool
			}
		}
	}
	if err := yaml.Unmarshal(raw, &project); err != nil {
		t.Fatalf("PROJECT: %v", err)
	}
	if len(project.Resources) == 0 {
		t.Fatal("PROJECT lists no resources")
	}
	goFiles := trackedFiles(t, ".go")
	hooks, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range project.Resources {
		if r.Controller {
			want := strings.ToLower(r.Kind) + "_controller.go"
			if !slices.ContainsFunc(goFiles, func(f string) bool { return strings.HasSuffix(f, want) }) {
				t.Errorf("PROJECT lists a controller for %s, but there is no %s", r.Kind, want)
			}
		}
		if r.Webhooks == nil {
			continue
		}
		plural := strings.ToLower(r.Kind) + "ies"
		if !strings.HasSuffix(strings.ToLower(r.Kind), "y") {
			plural = strings.ToLower(r.Kind) + "s"
		}
		if r.Webhooks.Validation && !bytes.Contains(hooks, []byte("name: v"+strings.ToLower(r.Kind))) && !bytes.Contains(hooks, []byte("- "+plural)) {
			t.Errorf("PROJECT lists a validating webhook for %s, which config/webhook does not register", r.Kind)
		}
		if r.Webhooks.Defaulting && !bytes.Contains(hooks, []byte("name: m"+strings.ToLower(r.Kind))) {
			t.Errorf("PROJECT lists a defaulting webhook for %s, which config/webhook does not register", r.Kind)
		}
	}
}

// TestReadmeNamesWhatExists: every make target the README names is in the Makefile, and every
// repository path it names exists.
func TestReadmeNamesWhatExists(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^([a-zA-Z0-9_-]+):`).FindAllStringSubmatch(string(makefile), -1) {
		targets[m[1]] = true
	}
	for _, m := range regexp.MustCompile("make ([a-z][a-z0-9-]*)").FindAllStringSubmatch(string(readme), -1) {
		if !targets[m[1]] {
			t.Errorf("README.md names make %s, which the Makefile does not have", m[1])
		}
	}
	// Listed in "make help lists them (...)".
	if _, list, ok := strings.Cut(string(readme), "`make help` lists them ("); ok {
		list, _, _ = strings.Cut(list, ")")
		for _, m := range regexp.MustCompile("`([a-z][a-z0-9-]*)`").FindAllStringSubmatch(list, -1) {
			if !targets[m[1]] {
				t.Errorf("README.md lists target %s, which the Makefile does not have", m[1])
			}
		}
	}
	for _, m := range regexp.MustCompile("`((?:docs|examples|config|cmd|pkg|webhooks|hack|test|api)/[A-Za-z0-9_./-]*)`").FindAllStringSubmatch(string(readme), -1) {
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			t.Errorf("README.md names %s, which does not exist", m[1])
		}
	}
}
