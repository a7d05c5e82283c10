package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The -update flag (update) is declared in cli_test.go and shared by every
// golden test of the package.

// runResult is what one in-process run of kubectl-palisade produced.
type runResult struct {
	args           []string
	code           int
	stdout, stderr string
}

// runCLI runs the whole command tree in-process, as cmd/kubectl-palisade
// does, with stdin, and returns the exit code and both streams.
func runCLI(stdin string, args ...string) runResult {
	var out, errOut bytes.Buffer
	streams := IOStreams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut}
	root := NewRootCommand(streams)
	root.SetArgs(args)
	code := HandleError(root.Execute(), &errOut)
	return runResult{args: args, code: code, stdout: out.String(), stderr: errOut.String()}
}

// transcript renders a run the way golden files store it: the command, the
// exit code, then stdout and stderr in full.
func (r runResult) transcript() string {
	var b strings.Builder
	b.WriteString("$ kubectl palisade " + strings.Join(r.args, " ") + "\n")
	b.WriteString("exit code: " + strconv.Itoa(r.code) + "\n")
	b.WriteString("--- stdout\n" + r.stdout)
	b.WriteString("--- stderr\n" + r.stderr)
	return b.String()
}

// checkGolden compares got with the file at path, whole; -update rewrites it.
func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./pkg/cli -update to create it): %v", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test ./pkg/cli -run '%s' -update rewrites it)\n--- want\n%s\n--- got\n%s", path, t.Name(), want, got)
	}
}
