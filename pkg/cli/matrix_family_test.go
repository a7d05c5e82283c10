package cli

import (
	"encoding/json"
	"testing"

	"sigs.k8s.io/yaml"
)

// Issue 13: between dual-stack pods a connection can be made over either family, and a policy can
// treat the two differently; -o json and -o yaml must carry both verdicts, not the IPv4 one alone.
func TestMatrixStructuredCarriesBothFamilies(t *testing.T) {
	type verdict struct {
		From, To string
		Allowed  bool
		IPv4     *bool `json:"ipv4"`
		IPv6     *bool `json:"ipv6"`
	}
	for _, format := range []string{"json", "yaml"} {
		r := runCLI("", "matrix", "-f", "testdata/matrix/mixed-families.yaml", "--ports", "80/TCP", "-o", format)
		if r.code != 0 {
			t.Fatalf("-o %s: exit %d: %s", format, r.code, r.stderr)
		}
		var doc struct{ Verdicts []verdict }
		out := []byte(r.stdout)
		if format == "yaml" {
			var err error
			if out, err = yaml.YAMLToJSON(out); err != nil {
				t.Fatal(err)
			}
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			t.Fatalf("-o %s: %v", format, err)
		}
		got := map[string]verdict{}
		for _, v := range doc.Verdicts {
			got[v.From+" "+v.To] = v
		}
		str := func(b *bool) string {
			if b == nil {
				return "absent"
			}
			if *b {
				return "allowed"
			}
			return "denied"
		}
		if v := got["ns/v6 ns/dual2"]; v.Allowed {
			t.Errorf("-o %s: ns/v6 -> ns/dual2 over IPv6: allowed, want denied", format)
		}
		for pair, want := range map[string][2]string{
			// dual2 admits IPv4 only.
			"ns/dual ns/dual2": {"allowed", "denied"},
			"ns/dual2 ns/dual": {"allowed", "allowed"},
			// One shared family: one verdict, "allowed".
			"ns/v4 ns/dual2": {"absent", "absent"},
			"ns/v6 ns/dual2": {"absent", "absent"},
		} {
			v, ok := got[pair]
			if !ok {
				t.Errorf("-o %s: no verdict for %s", format, pair)
				continue
			}
			if g := [2]string{str(v.IPv4), str(v.IPv6)}; g != want {
				t.Errorf("-o %s: %s: ipv4/ipv6 = %v, want %v", format, pair, g, want)
			}
			if v.IPv4 != nil && v.Allowed != *v.IPv4 {
				t.Errorf("-o %s: %s: allowed = %t, want the IPv4 verdict", format, pair, v.Allowed)
			}
		}
	}
}
