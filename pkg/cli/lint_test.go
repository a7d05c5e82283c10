package cli

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// scenarioDirs lists the example folders that hold Palisade scenarios (not calico/ nor invalid/).
func scenarioDirs(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "calico" && e.Name() != "invalid" {
			dirs = append(dirs, e.Name())
		}
	}
	if len(dirs) < 9 {
		t.Fatalf("found %d scenario folders in %s, want at least 9", len(dirs), examplesDir)
	}
	return dirs
}

// TestLintExamples: every scenario lints clean (exit 0) and prints exactly its golden findings,
// warnings included.
func TestLintExamples(t *testing.T) {
	for _, dir := range scenarioDirs(t) {
		t.Run(dir, func(t *testing.T) {
			r := runCLI("", "lint", "-f", filepath.Join(examplesDir, dir))
			if r.code != 0 {
				t.Errorf("exit %d, want 0\n%s", r.code, r.transcript())
			}
			if strings.Contains(r.stdout, "\n") && !allWarnings(r.stdout) {
				t.Errorf("errors printed for a valid example:\n%s", r.stdout)
			}
			checkGolden(t, filepath.Join("testdata", "lint", dir+".golden"), r.transcript())
		})
	}
}

func allWarnings(out string) bool {
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l != "" && !strings.HasPrefix(l, "warning: ") {
			return false
		}
	}
	return true
}

// invalidFields is, for each file of examples/invalid, the field paths lint must reject. Every file
// there must be listed, so that a new invalid example states what it tests.
var invalidFields = map[string][]string{
	"action-lowercase":               {"spec.ingress[0].action"},
	"bad-name":                       {"metadata.name"},
	"bad-selector":                   {"spec.selector"},
	"bare-ip-in-nets":                {"spec.egress[0].destination.nets[0]"},
	"canary-out-of-range":            {"spec.rollout.staged.canaryPercent"},
	"catch-all-notnets":              {"spec.ingress[0].source.notNets[0]"},
	"domains":                        {"spec.egress[0].destination.domains"},
	"duplicate-types":                {"spec.types[1]"},
	"global-in-selector":             {"spec.selector"},
	"http-rule":                      {"spec.ingress[0].http"},
	"icmp-code-without-type":         {"spec.ingress[0].icmp.type"},
	"knp-bad-endport":                {"spec.ingress[0].ports[0].endPort"},
	"knp-ipblock-with-selector":      {"spec.egress[0].to[0]"},
	"mixed-ip-versions":              {"spec.ingress[0].source.nets[1]"},
	"port-without-protocol":          {"spec.ingress[0].protocol"},
	"prednat-without-applyonforward": {"spec.applyOnForward"},
	"protocol-lowercase":             {"spec.ingress[0].protocol"},
	"unknown-field":                  {"spec.ingres"},
	"unknown-kind":                   {"kind"},
	"unknown-tier":                   {"spec.tier"},
	"unmasked-cidr":                  {"spec.ingress[0].source.nets[0]"},
	"wrong-type":                     {"spec.ingress[0].ipVersion"},
}

// errorFields extracts FIELD_PATH from every error line of lint output
// ("FILE:IDX: KIND/NS/NAME: FIELD_PATH: message").
func errorFields(t *testing.T, out string) []string {
	t.Helper()
	var fields []string
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if l == "" || strings.HasPrefix(l, "warning: ") {
			continue
		}
		parts := strings.SplitN(l, ": ", 4)
		if len(parts) < 4 {
			t.Fatalf("line %q does not have FILE:IDX: OBJECT: FIELD: message", l)
		}
		fields = append(fields, parts[2])
	}
	return fields
}

// TestLintInvalidExamples: each broken policy is rejected (exit 1; exit 2 for a kind that is not
// understood, issue 13 item 4) with the right field path, and the whole output matches its golden
// file.
func TestLintInvalidExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "invalid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			want, ok := invalidFields[name]
			if !ok {
				t.Fatalf("%s is not listed in invalidFields: say which field it breaks", f)
			}
			r := runCLI("", "lint", "-f", f)
			wantCode := ExitInvalid
			if name == "unknown-kind" {
				wantCode = ExitUsage
			}
			if r.code != wantCode {
				t.Errorf("exit %d, want %d\n%s", r.code, wantCode, r.transcript())
			}
			got := errorFields(t, r.stdout)
			sort.Strings(got)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("rejected fields %v, want %v\n%s", got, want, r.stdout)
			}
			checkGolden(t, filepath.Join("testdata", "lint", "invalid", name+".golden"), r.transcript())
		})
	}
	for name := range invalidFields {
		if !seen[name] {
			t.Errorf("invalidFields lists %s, which is not in examples/invalid", name)
		}
	}
}

// TestLintCalicoExamples: Calico documents are invalid Palisade input, each with the exact command
// that converts it.
func TestLintCalicoExamples(t *testing.T) {
	r := runCLI("", "lint", "-f", filepath.Join(examplesDir, "calico"))
	if r.code != ExitInvalid {
		t.Errorf("exit %d, want %d", r.code, ExitInvalid)
	}
	checkGolden(t, filepath.Join("testdata", "lint", "calico.golden"), r.transcript())
}

// TestLintInputs covers stdin, several paths, and input that cannot be read or parsed (exit 2, with
// a message naming the file and the document).
func TestLintInputs(t *testing.T) {
	const validPolicy = `apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata:
  name: allow-dns
spec:
  order: 10
  selector: all()
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination:
      ports: [53]
`
	const invalidPolicy = `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  order: 10
  ingress:
  - action: Allow
    protocol: tcp
`
	brokenDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenDir, "a.yaml"), []byte(validPolicy+"---\nkind: Pod\nmetadata:\n  name: [x\n---\n"+invalidPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	emptyDir := t.TempDir()
	mixedDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(mixedDir, "values.yaml"), []byte("replicas: 3\nimage: web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(mixedDir, "policy.yaml"), []byte(validPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		stdin      string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{
			name:     "valid policy on stdin",
			stdin:    validPolicy,
			args:     []string{"lint", "-f", "-"},
			wantCode: 0,
		},
		{
			name:       "invalid policy on stdin, then a valid file",
			stdin:      invalidPolicy,
			args:       []string{"lint", "-f", "-", "-f", filepath.Join(examplesDir, "cidr-egress", "policy.yaml")},
			wantCode:   ExitInvalid,
			wantStdout: "<stdin>:0: NetworkPolicy/shop/web: spec.ingress[0].protocol: Invalid value: \"tcp\": protocol names are case-sensitive: use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255 (line 10)\n",
		},
		{
			name:       "broken YAML on stdin",
			stdin:      validPolicy + "---\n" + "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n   labels: {}\n",
			args:       []string{"lint", "-f", "-"},
			wantCode:   ExitUsage,
			wantStderr: "error: <stdin>: document 1, line 19: invalid YAML: mapping values are not allowed in this context\n",
		},
		{
			name:       "broken YAML in a folder: the documents after it are still checked",
			args:       []string{"lint", "-f", brokenDir},
			wantCode:   ExitUsage,
			wantStdout: filepath.Join(brokenDir, "a.yaml") + ":2: NetworkPolicy/shop/web: spec.ingress[0].protocol: Invalid value: \"tcp\": protocol names are case-sensitive: use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255 (line 28)\n",
			wantStderr: "error: " + filepath.Join(brokenDir, "a.yaml") + ": document 1, line 17: invalid YAML: did not find expected ',' or ']'\n",
		},
		{
			name:       "missing file",
			args:       []string{"lint", "-f", filepath.Join(examplesDir, "no-such-file.yaml")},
			wantCode:   ExitUsage,
			wantStderr: "error: " + filepath.Join(examplesDir, "no-such-file.yaml") + ": cannot read: no such file or directory\n",
		},
		{
			name:       "folder without manifests",
			args:       []string{"lint", "-f", emptyDir},
			wantCode:   ExitUsage,
			wantStderr: "error: " + emptyDir + ": directory holds no .yaml, .yml or .json file\n",
		},
		{
			name:       "document without kind",
			stdin:      "apiVersion: v1\nmetadata: {name: x}\n",
			args:       []string{"lint", "-f", "-"},
			wantCode:   ExitUsage,
			wantStderr: "error: <stdin>: document 0, line 1: missing kind: every document needs apiVersion and kind\n",
		},
		{
			name:       "Calico document on stdin names the stdin form of convert",
			stdin:      "apiVersion: projectcalico.org/v3\nkind: NetworkPolicy\nmetadata: {name: a, namespace: b}\n",
			args:       []string{"lint", "-f", "-"},
			wantCode:   ExitInvalid,
			wantStdout: "<stdin>:0: NetworkPolicy/b/a: apiVersion: projectcalico.org/v3 is Calico's API, not Palisade's; convert it with: kubectl palisade convert -f -\n",
		},
		{
			name:     "a namespaced policy without namespace lands in default, as kubectl puts it",
			stdin:    "apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: web}\nspec: {order: 1, selector: all(), ingress: [{action: Allow}]}\n",
			args:     []string{"lint", "-f", "-"},
			wantCode: 0,
		},
		{
			name:       "-n names the namespace of objects without one",
			stdin:      "apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: web}\nspec: {order: 1, selector: all(), ingress: [{action: Allow, protocol: tcp}]}\n",
			args:       []string{"lint", "-n", "shop", "-f", "-"},
			wantCode:   ExitInvalid,
			wantStdout: "<stdin>:0: NetworkPolicy/shop/web: spec.ingress[0].protocol: Invalid value: \"tcp\": protocol names are case-sensitive: use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255 (line 4)\n",
		},
		{
			name:       "-n refuses an object of another namespace, as kubectl apply -n does",
			stdin:      "apiVersion: policy.palisade.dev/v1alpha1\nkind: NetworkPolicy\nmetadata: {name: web, namespace: shop}\nspec: {selector: all()}\n",
			args:       []string{"lint", "-n", "prod", "-f", "-"},
			wantCode:   ExitUsage,
			wantStderr: "error: <stdin>: document 0, line 3: NetworkPolicy web is in namespace shop, not the namespace prod given by -n: kubectl apply -n prod refuses it; pass -n shop or leave -n out\n",
		},
		{
			name:       "two different policies of the same name: a warning naming both places",
			stdin:      validPolicy + "---\n" + strings.Replace(validPolicy, "order: 10", "order: 20", 1) + "---\n" + validPolicy,
			args:       []string{"lint", "-f", "-"},
			wantCode:   0,
			wantStdout: "warning: <stdin>:1: GlobalNetworkPolicy/allow-dns: metadata.name: GlobalNetworkPolicy/allow-dns is defined twice, differently (first at <stdin>: document 0, line 1): the cluster keeps one object per name, so the result would depend on the order of -f; remove one\n",
		},
		{
			name:       "an endless input stops at the cap",
			args:       []string{"lint", "-f", "/dev/zero"},
			wantCode:   ExitUsage,
			wantStderr: "error: /dev/zero: input too large: the inputs together exceed the limit of 32 MiB; raise it with --max-input-bytes if this input is meant\n",
		},
		{
			name:       "the cap counts every input together, and the flag sets it",
			stdin:      validPolicy,
			args:       []string{"lint", "--max-input-bytes", "300", "-f", "-", "-f", filepath.Join(examplesDir, "cidr-egress", "policy.yaml")},
			wantCode:   ExitUsage,
			wantStderr: "error: " + filepath.Join(examplesDir, "cidr-egress", "policy.yaml") + ": input too large: the inputs together exceed the limit of 300 bytes; raise it with --max-input-bytes if this input is meant\n",
		},
		{
			name:       "a folder's files that are not manifests are skipped with a note",
			args:       []string{"lint", "-f", mixedDir},
			wantCode:   0,
			wantStderr: "note: " + filepath.Join(mixedDir, "values.yaml") + ": skipped: not a Kubernetes manifest (missing apiVersion and kind: every document needs apiVersion and kind)\n",
		},
		{
			name:       "an empty input says so",
			stdin:      "# nothing\n---\n",
			args:       []string{"lint", "-f", "-"},
			wantCode:   0,
			wantStderr: "note: the inputs hold no Kubernetes objects (they are empty, or hold only comments and document markers)\n",
		},
		{
			name:       "a Calico kind that convert refuses is not pointed at convert",
			stdin:      "apiVersion: projectcalico.org/v3\nkind: Tier\nmetadata: {name: security}\nspec: {order: 100}\n",
			args:       []string{"lint", "-f", "-"},
			wantCode:   ExitInvalid,
			wantStdout: "<stdin>:0: Tier/security: kind: projectcalico.org/v3 Tier is Calico's API and has no Palisade equivalent: convert refuses it too (it converts NetworkPolicy, GlobalNetworkPolicy and the Staged kinds of projectcalico.org/v3); remove it or express it in Palisade policies (line 2)\n",
		},
		{
			name:     "other kinds are accepted silently",
			stdin:    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {anything: 1}\n",
			args:     []string{"lint", "-f", "-"},
			wantCode: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(tt.stdin, tt.args...)
			if r.code != tt.wantCode || r.stdout != tt.wantStdout || r.stderr != tt.wantStderr {
				t.Errorf("got exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
					r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}
