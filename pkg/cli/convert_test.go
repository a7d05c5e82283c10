package cli

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestConvertCalicoExamples converts every Calico example, compares the output with its golden file,
// and lints the output: a conversion must give valid Palisade policies.
func TestConvertCalicoExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(examplesDir, "calico", "*.yaml"))
	if err != nil || len(files) < 5 {
		t.Fatalf("found %d Calico examples (%v)", len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			r := runCLI("", "convert", "-f", f)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("convert: exit %d\n%s", r.code, r.transcript())
			}
			checkGolden(t, filepath.Join("testdata", "convert", name+".golden"), r.transcript())

			lint := runCLI(r.stdout, "lint", "-f", "-")
			if lint.code != 0 || !allWarnings(lint.stdout) {
				t.Errorf("converted output does not lint clean:\n%s", lint.transcript())
			}
			// A second pass over Palisade documents changes nothing: they are passed through.
			again := runCLI(r.stdout, "convert", "-f", "-")
			if again.code != 0 || again.stdout != r.stdout {
				t.Errorf("converting the output again changed it:\n%s", again.transcript())
			}
		})
	}
}

func TestConvertAllCalicoExamplesAtOnce(t *testing.T) {
	r := runCLI("", "convert", "-f", filepath.Join(examplesDir, "calico"))
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.transcript())
	}
	if n := strings.Count(r.stdout, "apiVersion: policy.palisade.dev/v1alpha1\n"); n != 6 {
		t.Errorf("%d Palisade policies in the output, want 6\n%s", n, r.stdout)
	}
}

func TestConvertFailures(t *testing.T) {
	tests := []struct {
		name       string
		stdin      string
		wantCode   int
		wantStderr string
	}{
		{
			name: "staged delete writes nothing",
			stdin: `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: keep, namespace: shop}
spec: {order: 1, selector: all(), ingress: [{action: Allow}]}
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: gone, namespace: shop}
spec:
  stagedAction: Delete
`,
			wantCode:   ExitInvalid,
			wantStderr: "<stdin>:1: StagedNetworkPolicy/shop/gone: spec.stagedAction: Delete stages the removal of the enforced policy of the same name and holds no policy, so there is nothing to convert; to remove that policy, delete its Palisade counterpart (line 10)\n",
		},
		{
			name:       "unknown field",
			stdin:      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  selectr: all()\n",
			wantCode:   ExitInvalid,
			wantStderr: "<stdin>:0: GlobalNetworkPolicy/g: spec.selectr: unknown field \"selectr\" (line 5)\n",
		},
		{
			name:       "a policy admission would refuse writes nothing",
			stdin:      "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\nmetadata: {name: platform.g}\nspec: {tier: platform, order: 1, selector: all(), ingress: [{action: Allow}]}\n",
			wantCode:   ExitInvalid,
			wantStderr: "<stdin>:0: GlobalNetworkPolicy/platform.g: spec.tier: Palisade's admission would refuse the converted GlobalNetworkPolicy: Invalid value: \"platform\": tiers are not supported yet: leave tier empty or set it to \"default\" (line 4)\n",
		},
		{
			name:       "broken YAML",
			stdin:      "apiVersion: projectcalico.org/v3\nkind: [\n",
			wantCode:   ExitUsage,
			wantStderr: "error: <stdin>: document 0, line 2: invalid YAML: did not find expected node content\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(tt.stdin, "convert", "-f", "-")
			if r.code != tt.wantCode || r.stdout != "" || r.stderr != tt.wantStderr {
				t.Errorf("got exit %d\nstdout %q\nstderr %q\nwant exit %d, no stdout\nstderr %q", r.code, r.stdout, r.stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}

func TestConvertWarningsGoToStderr(t *testing.T) {
	in := `apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: cart, namespace: shop}
spec:
  order: 5
  selector: all()
  egress: []
`
	r := runCLI(in, "convert", "-f", "-")
	wantOut := `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: cart
  namespace: shop
spec:
  order: 5
  selector: all()
`
	wantErr := "warning: <stdin>:0: NetworkPolicy/shop/cart: spec.egress: empty list without spec.types: Palisade, like calicoctl, ignores it when defaulting types (Calico's admission policy counts it as Egress); set spec.types to say which directions the policy governs (line 7)\n"
	if r.code != 0 || r.stdout != wantOut || r.stderr != wantErr {
		t.Errorf("got exit %d\nstdout %q\nstderr %q", r.code, r.stdout, r.stderr)
	}
}
