package assets

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// makeAssets creates dir holding the named binaries as executable files.
func makeAssets(t *testing.T, dir string, names ...string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// makeRepo creates a fake repository root with a go.mod of the Palisade
// module and a nested module like hack/kube; it returns the root.
func makeRepo(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "// comment\nmodule github.com/palisade-dev/palisade\n\ngo 1.26.0\n")
	write("hack/kube/go.mod", "module github.com/palisade-dev/palisade/hack/kube\n")
	return root
}

func wantMissing(problems ...string) string {
	msg := "envtest binaries (etcd, kube-apiserver, kubectl) for Kubernetes 1.37.1 not found:\n"
	for _, p := range problems {
		msg += "  - " + p + "\n"
	}
	return msg + "install them by running `make envtest-bins` in the repository root: it builds them into " + RepoSubdir() + "\n" +
		"from the Go module proxy (several minutes the first time, seconds after). To use an installed\n" +
		"etcd >= 3.5 instead of building one (`apt-get install -y etcd-server` gives one on Debian 13\n" +
		"or later; Debian 12's 3.4 is too old), run `ETCD=/usr/bin/etcd make envtest-bins`.\n" +
		"Or set KUBEBUILDER_ASSETS to a directory that holds all of them."
}

func TestFind(t *testing.T) {
	all := []string{"etcd", "kube-apiserver", "kubectl"}
	tests := []struct {
		name string
		// binaries to create in the KUBEBUILDER_ASSETS dir (when setEnv) and the repo dir.
		envBins  []string
		setEnv   bool
		repoBins []string
		noRepo   bool
		start    string // relative to the repo root
		want     string // "env" or "repo"; empty when an error is expected
		wantErr  func(env, root string) string
	}{
		{name: "valid env wins over repo", setEnv: true, envBins: all, repoBins: all, want: "env"},
		{name: "valid env without repo bins", setEnv: true, envBins: all, want: "env"},
		{name: "unset env falls back to repo", repoBins: all, want: "repo"},
		{name: "incomplete env falls back to repo", setEnv: true, envBins: []string{"etcd"}, repoBins: all, want: "repo"},
		{name: "found from nested module dir", repoBins: all, start: "hack/kube", want: "repo"},
		{
			name: "nothing installed", repoBins: nil, start: "test/assets",
			wantErr: func(_, root string) string {
				return wantMissing(filepath.Join(root, RepoSubdir()) + ": no etcd")
			},
		},
		{
			name: "env incomplete and repo incomplete", setEnv: true, envBins: []string{"etcd", "kube-apiserver"},
			repoBins: []string{"etcd"},
			wantErr: func(env, root string) string {
				return wantMissing("KUBEBUILDER_ASSETS="+env+": no kubectl",
					filepath.Join(root, RepoSubdir())+": no kube-apiserver")
			},
		},
		{
			name: "outside any repo", noRepo: true,
			wantErr: func(_, root string) string {
				return wantMissing("no go.mod of module github.com/palisade-dev/palisade in " + root + " or any parent")
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var root string
			if tc.noRepo {
				root = t.TempDir()
			} else {
				root = makeRepo(t)
			}
			start := filepath.Join(root, tc.start)
			if err := os.MkdirAll(start, 0o755); err != nil {
				t.Fatal(err)
			}
			repoDir := filepath.Join(root, RepoSubdir())
			if tc.repoBins != nil {
				makeAssets(t, repoDir, tc.repoBins...)
			}
			env := ""
			if tc.setEnv {
				env = makeAssets(t, t.TempDir(), tc.envBins...)
			}

			got, err := find(env, start)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("find() = %q, want an error", got)
				}
				if want := tc.wantErr(env, root); err.Error() != want {
					t.Fatalf("find() error:\n%s\nwant:\n%s", err, want)
				}
				return
			}
			if err != nil {
				t.Fatalf("find() unexpected error: %v", err)
			}
			want := map[string]string{"env": env, "repo": repoDir}[tc.want]
			if got != want {
				t.Fatalf("find() = %q, want %q", got, want)
			}
		})
	}
}

func TestCheckRejectsUnusableFiles(t *testing.T) {
	dir := makeAssets(t, t.TempDir(), "etcd", "kubectl")
	if err := os.WriteFile(filepath.Join(dir, "kube-apiserver"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err, want := check(dir), "kube-apiserver is not an executable file"; err == nil || err.Error() != want {
		t.Fatalf("check(non-executable) = %v, want %q", err, want)
	}

	dir = makeAssets(t, t.TempDir(), "etcd", "kubectl")
	if err := os.Mkdir(filepath.Join(dir, "kube-apiserver"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err, want := check(dir), "kube-apiserver is not an executable file"; err == nil || err.Error() != want {
		t.Fatalf("check(directory) = %v, want %q", err, want)
	}
}

// TestDirReadsEnvironment covers Dir's own inputs: the variable and the
// working directory.
func TestDirReadsEnvironment(t *testing.T) {
	valid := makeAssets(t, t.TempDir(), Binaries...)
	t.Setenv(EnvVar, valid)
	if got, err := Dir(); err != nil || got != valid {
		t.Fatalf("Dir() with valid %s = %q, %v; want %q", EnvVar, got, err, valid)
	}

	empty := t.TempDir()
	outside := t.TempDir()
	t.Setenv(EnvVar, empty)
	t.Chdir(outside)
	_, err := Dir()
	want := wantMissing(
		fmt.Sprintf("KUBEBUILDER_ASSETS=%s: no etcd", empty),
		"no go.mod of module github.com/palisade-dev/palisade in "+outside+" or any parent")
	if err == nil || err.Error() != want {
		t.Fatalf("Dir() error:\n%v\nwant:\n%s", err, want)
	}
}
