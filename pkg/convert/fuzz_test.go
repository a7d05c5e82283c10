package convert

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

// FuzzConvert feeds arbitrary manifests to the converter: it must never panic, a failed conversion
// must say why, and a successful one must write YAML that reads back without Calico documents and
// with at least as many Palisade policies as it converted.
func FuzzConvert(f *testing.F) {
	inputs, _ := filepath.Glob("testdata/*.yaml")
	for _, in := range inputs {
		if data, err := os.ReadFile(in); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: projectcalico.org/v3\nkind: StagedKubernetesNetworkPolicy\nspec:\n  ingress: [{ports: [{port: 0, endPort: 70000}], from: [{ipBlock: {cidr: '::/0', except: [x]}}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := manifest.Parse("fuzz.yaml", data)
		if err != nil {
			return
		}
		res := Manifests(set)
		if res.Failed() {
			for _, r := range res.Reports {
				if r.Message == "" {
					t.Fatalf("report without a message: %+v", r)
				}
			}
			return
		}
		back, err := manifest.Parse("out.yaml", res.YAML())
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, res.YAML())
		}
		converted := 0
		for _, o := range res.Outputs {
			if o.Object != nil {
				converted++
			}
		}
		if len(back.Calico()) != 0 {
			t.Fatalf("output holds Calico documents:\n%s", res.YAML())
		}
		if got := len(back.NetworkPolicies) + len(back.GlobalNetworkPolicies); got < converted {
			t.Fatalf("read back %d policies, converted %d:\n%s", got, converted, res.YAML())
		}
	})
}
