package labcmd

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab/probe"
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
		{[]string{"demo", "--window", "0s"}, "--window 0s"},
		{[]string{"demo", "--promotion-timeout", "-1s"}, "--promotion-timeout -1s"},
		{[]string{"demo", "--report-interval", "0s"}, "--report-interval 0s"},
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

func TestDeclaredPorts(t *testing.T) {
	set, err := manifest.Parse("m.yaml", []byte(`apiVersion: v1
kind: Pod
metadata: {name: a}
spec:
  initContainers: [{name: i, image: i, ports: [{containerPort: 9000}]}]
  containers: [{name: c, image: c, ports: [{containerPort: 81, protocol: UDP}, {containerPort: 80}, {containerPort: 132, protocol: SCTP}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: b}
spec: {containers: [{name: c, image: c, ports: [{containerPort: 80, protocol: TCP}, {containerPort: 80, protocol: UDP}]}]}
`))
	if err != nil || set.Err() != nil {
		t.Fatalf("parsing: %v %v", err, set.Err())
	}
	want := []probe.Port{{Port: 80, Protocol: "TCP"}, {Port: 80, Protocol: "UDP"}, {Port: 81, Protocol: "UDP"}, {Port: 9000, Protocol: "TCP"}}
	if diff := cmp.Diff(want, declaredPorts(set)); diff != "" {
		t.Errorf("declaredPorts (-want +got):\n%s", diff)
	}
}
