package cli

import (
	"bytes"
	"strings"
	"testing"
)

func TestRootRegistersLintAndConvert(t *testing.T) {
	root := NewRootCommand(IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	names := map[string]bool{}
	for _, c := range root.Commands() {
		names[c.Name()] = true
	}
	for _, want := range []string{"lint", "convert"} {
		if !names[want] {
			t.Errorf("command %q is not registered (have %v)", want, names)
		}
	}
	if got := root.DisplayName(); got != "kubectl palisade" {
		t.Errorf("display name = %q, want %q", got, "kubectl palisade")
	}
}

func TestUsageErrorsExitTwo(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "lint without paths", args: []string{"lint"}, wantStderr: "error: lint needs at least one -f PATH (a file, a folder, or - for stdin)\n"},
		{name: "convert without paths", args: []string{"convert"}, wantStderr: "error: convert needs at least one -f PATH (a file, a folder, or - for stdin)\n"},
		{name: "unknown flag", args: []string{"lint", "--bogus"}, wantStderr: "error: unknown flag: --bogus\n"},
		{name: "positional argument", args: []string{"lint", "policy.yaml"}, wantStderr: "error: unknown command \"policy.yaml\" for \"kubectl palisade lint\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI("", tt.args...)
			if r.code != ExitUsage || r.stdout != "" || r.stderr != tt.wantStderr {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, stderr %q", r.code, r.stdout, r.stderr, ExitUsage, tt.wantStderr)
			}
		})
	}
}

func TestLintHelpDocumentsDefaultingAndFormat(t *testing.T) {
	r := runCLI("", "lint", "--help")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	// The help is the contract scripts rely on; check its key sentences are there.
	for _, must := range []string{
		"first defaulted as the mutating\nwebhook does",
		"  FILE:DOC_INDEX: KIND/NAMESPACE/NAME: FIELD_PATH: message\n",
		"Exit status: 0 when everything is valid (warnings allowed), 1 when anything is invalid, 2 when an\ninput cannot be read or parsed",
	} {
		if !strings.Contains(r.stdout, must) {
			t.Errorf("lint --help lacks %q\n%s", must, r.stdout)
		}
	}
}
