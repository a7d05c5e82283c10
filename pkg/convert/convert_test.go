package convert

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// render writes a Result the way the golden files hold it: every report, then the output stream.
func render(res *Result) string {
	var b strings.Builder
	for _, r := range res.Reports {
		level := "error"
		if r.Warning {
			level = "warning"
		}
		fmt.Fprintf(&b, "%s: %s: %s %s/%s: %s", level, r.Document.Source, r.Document.Kind, r.Document.Namespace, r.Document.Name, r.Field)
		if r.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", r.Line)
		}
		fmt.Fprintf(&b, ": %s\n", r.Message)
	}
	fmt.Fprintf(&b, "=== failed: %t\n", res.Failed())
	b.Write(res.YAML())
	return b.String()
}

func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			set, err := manifest.Parse(filepath.Base(in), data)
			if err != nil {
				t.Fatal(err)
			}
			got := render(Manifests(set))
			golden := strings.TrimSuffix(in, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run go test -update and review the diff)\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

// TestOutputReadsBack checks that every successful conversion writes YAML that the manifest loader
// reads back as exactly the objects that were converted, and that converting is deterministic.
func TestOutputReadsBack(t *testing.T) {
	inputs, _ := filepath.Glob("testdata/*.yaml")
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			set, err := manifest.Parse("in.yaml", data)
			if err != nil {
				t.Fatal(err)
			}
			res := Manifests(set)
			again := Manifests(set)
			if !bytes.Equal(res.YAML(), again.YAML()) {
				t.Fatal("two conversions of the same input differ")
			}
			back, err := manifest.Parse("out.yaml", res.YAML())
			if err != nil {
				t.Fatalf("output does not parse: %v\n%s", err, res.YAML())
			}
			if err := back.Err(); err != nil {
				t.Fatalf("output does not decode: %v", err)
			}
			var converted int
			for _, o := range res.Outputs {
				if o.Object != nil {
					converted++
				}
			}
			if got := len(back.NetworkPolicies) + len(back.GlobalNetworkPolicies); got < converted {
				t.Errorf("read back %d Palisade policies, converted %d", got, converted)
			}
			if len(back.Calico()) != 0 {
				t.Errorf("output still holds %d Calico documents", len(back.Calico()))
			}
		})
	}
}
