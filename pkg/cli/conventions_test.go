package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestConventions holds every command to kubectl's conventions (issue 13 item 15): -o json and
// -o yaml, version, shell completion.
func TestConventions(t *testing.T) {
	runCases(t, "testdata/conventions", []cliCase{
		{name: "lint-json", code: 1, args: []string{"lint", "-f", "../../examples/invalid/http-rule.yaml", "-o", "json"}},
		{name: "lint-yaml", code: 1, args: []string{"lint", "-f", "../../examples/invalid/http-rule.yaml", "-o", "yaml"}},
		{name: "convert-json", code: 0, args: []string{"convert", "-f", "../../examples/calico/restrict-egress.yaml", "-o", "json"}},
		{name: "trace-yaml", code: 0, args: []string{"trace", "-f", traceCluster, "--from", "x/a", "--to", "z/a", "--port", "80", "-o", "yaml"}},
		{name: "matrix-yaml", code: 0, args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP", "-o", "yaml"}},
		{name: "error-lint-bad-output", code: 2, args: []string{"lint", "-f", traceCluster, "-o", "wide"}},
	})
}

// TestMatrixYAMLIsTheJSONDocument checks that -o yaml holds exactly what -o json holds.
func TestMatrixYAMLIsTheJSONDocument(t *testing.T) {
	j := runCLI("", "matrix", "-f", traceCluster, "--ports", "80/TCP,53/UDP", "-o", "json")
	y := runCLI("", "matrix", "-f", traceCluster, "--ports", "80/TCP,53/UDP", "-o", "yaml")
	var fromJSON, fromYAML any
	if err := json.Unmarshal([]byte(j.stdout), &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(y.stdout), &fromYAML); err != nil {
		t.Fatalf("%v\n%s", err, y.stdout)
	}
	a, _ := json.Marshal(fromJSON)
	b, _ := json.Marshal(fromYAML)
	if string(a) != string(b) {
		t.Errorf("yaml and json differ:\n%s\n%s", a, b)
	}
}

func TestVersionAndCompletion(t *testing.T) {
	v := runCLI("", "version", "-o", "json")
	var info versionInfo
	if v.code != 0 || json.Unmarshal([]byte(v.stdout), &info) != nil || info.Version == "" || info.GoVersion == "" {
		t.Errorf("version -o json: %s", v.transcript())
	}
	text := runCLI("", "version")
	if text.code != 0 || !strings.HasPrefix(text.stdout, "kubectl-palisade "+info.Version+" (") {
		t.Errorf("version: %s", text.transcript())
	}
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		r := runCLI("", "completion", shell)
		if r.code != 0 || !strings.Contains(r.stdout, "kubectl-palisade") {
			t.Errorf("completion %s: exit %d, %d bytes", shell, r.code, len(r.stdout))
		}
	}
	// Flag values complete too.
	r := runCLI("", "__complete", "trace", "-o", "")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "text\njson\nyaml\n") {
		t.Errorf("completing -o: %s", r.transcript())
	}
}
