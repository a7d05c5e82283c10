package labcmd

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageErrors covers what is refused before any lab is built (so it needs no root).
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"probe", "--ports", "80/TCP"}, "-f/--filename is required"},
		{[]string{"probe", "-f", "x.yaml", "--ports", "80/SCTP"}, "--ports: port \"80/SCTP\""},
		{[]string{"probe", "-f", "x.yaml", "-o", "yaml"}, "-o/--output \"yaml\""},
		{[]string{"probe", "-f", "/nonexistent.yaml"}, "loading manifests"},
		{[]string{"up"}, "-f/--filename is required"},
		{[]string{"cleanup", "--prefix", "pal-"}, "--prefix \"pal-\""},
		{[]string{"cleanup", "--prefix", ""}, "--prefix \"\""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cmd := NewRootCommand()
			var out bytes.Buffer
			cmd.SetOut(&out)
			cmd.SetErr(&out)
			cmd.SetArgs(tt.args)
			err := cmd.ExecuteContext(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if got := ExitCode(err); got != 2 {
				t.Errorf("exit code = %d, want 2", got)
			}
		})
	}
	if ExitCode(nil) != 0 {
		t.Error("ExitCode(nil) != 0")
	}
}
