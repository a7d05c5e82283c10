package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const nsDoc = "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n"

func ns(name string) string { return strings.Replace(nsDoc, "%s", name, 1) }

// writeTree creates files (path → content) under a fresh directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func sources(set *Set, root string) []string {
	var out []string
	for _, d := range set.Documents {
		f := d.Source.File
		if rel, err := filepath.Rel(root, f); err == nil && !strings.HasPrefix(rel, "..") {
			f = rel
		}
		out = append(out, f+":"+d.Name)
	}
	return out
}

func TestLoadWalksDirectoriesInLexicalOrder(t *testing.T) {
	root := writeTree(t, map[string]string{
		"b.yaml":            ns("b"),
		"a.yml":             ns("a1") + "---\n" + ns("a2"),
		"sub/c.json":        `{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "c"}}`,
		"sub/deeper/d.YAML": ns("d"),
		"notes.txt":         "not a manifest",
		"README.md":         "# not a manifest",
		".git/e.yaml":       ns("hidden"),
		"sub/.cache/f.yaml": ns("hidden-too"),
	})
	set, err := LoadWith([]string{root}, nil, Options{Recursive: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.yml:a1", "a.yml:a2", "b.yaml:b", "sub/c.json:c", "sub/deeper/d.YAML:d"}
	if got := sources(set, root); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	// Without -R, as kubectl: the files of the folder only, and a note naming what was not read.
	flat, err := Load([]string{root}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sources(flat, root), []string{"a.yml:a1", "a.yml:a2", "b.yaml:b"}; !reflect.DeepEqual(got, want) {
		t.Errorf("without Recursive: got %v, want %v", got, want)
	}
	if want := []string{filepath.Join(root, "sub") + ": not read: it is a subdirectory, and -R (--recursive) reads subdirectories, as in kubectl"}; !reflect.DeepEqual(flat.Notes, want) {
		t.Errorf("without Recursive: notes %q, want %q", flat.Notes, want)
	}
	if got := set.Documents[1].Source.Index; got != 1 {
		t.Errorf("second document of a.yml has index %d, want 1", got)
	}
}

func TestLoadPathsInArgumentOrderAndStdin(t *testing.T) {
	root := writeTree(t, map[string]string{"x.txt": ns("explicit-file-any-extension"), "d/y.yaml": ns("why")})
	stdin := strings.NewReader(ns("from-stdin"))
	set, err := Load([]string{filepath.Join(root, "d"), "-", filepath.Join(root, "x.txt")}, stdin)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"d/y.yaml:why", "<stdin>:from-stdin", "x.txt:explicit-file-any-extension"}
	if got := sources(set, root); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	root := writeTree(t, map[string]string{
		"empty/README.md": "nothing here",
		"bad.yaml":        ns("ok") + "---\n" + "apiVersion: v1\nkind: Pod\nmetadata: {name: [\n",
		"invalid.yaml":    "apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: a}\nspec: {bogus: 1}\n",
	})
	tests := []struct {
		name   string
		paths  []string
		stdin  string
		want   string
		strict bool // the error only happens in Load, not in LoadLenient
	}{
		{
			name:  "missing path",
			paths: []string{filepath.Join(root, "nope.yaml")},
			want:  "ROOT/nope.yaml: cannot read: no such file or directory",
		},
		{
			name:  "directory without manifests",
			paths: []string{filepath.Join(root, "empty")},
			want:  "ROOT/empty: directory holds no .yaml, .yml or .json file",
		},
		{
			name:  "broken YAML",
			paths: []string{filepath.Join(root, "bad.yaml")},
			want:  "ROOT/bad.yaml: document 1, line 7: invalid YAML: did not find expected node content",
		},
		{
			name:  "stdin twice",
			paths: []string{"-", "-"},
			stdin: ns("x"),
			want:  `<stdin>: "-" (stdin) given more than once`,
		},
		{
			name:   "undecodable document fails Load only",
			paths:  []string{filepath.Join(root, "invalid.yaml")},
			want:   `ROOT/invalid.yaml:0: decoding NetworkPolicy: spec.bogus: unknown field "bogus" (line 4)`,
			strict: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.paths, strings.NewReader(tt.stdin))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			if got := strings.ReplaceAll(err.Error(), root, "ROOT"); got != tt.want {
				t.Errorf("Load error\n got %s\nwant %s", got, tt.want)
			}
			set, err := LoadLenient(tt.paths, strings.NewReader(tt.stdin))
			if tt.strict {
				if err != nil {
					t.Fatalf("LoadLenient: %v", err)
				}
				var de *DecodeError
				if len(set.Documents) != 1 || !errors.As(set.Err(), &de) {
					t.Errorf("LoadLenient kept %d documents, Err() = %v", len(set.Documents), set.Err())
				}
				return
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Errorf("LoadLenient error = %v, want a *manifest.Error", err)
			}
		})
	}
}

func TestLoadStdinWithoutReader(t *testing.T) {
	_, err := Load([]string{"-"}, nil)
	if err == nil || err.Error() != "<stdin>: no stdin to read" {
		t.Errorf("err = %v", err)
	}
}
