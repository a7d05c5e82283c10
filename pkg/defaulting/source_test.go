package defaulting

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// The defaults have one source, the constants of this package (and v1alpha1.DefaultTier). The CRD
// schema carries them as kubebuilder markers in api/ (controller-gen writes them into
// config/crd/bases), the MutatingAdmissionPolicy of config/admissionpolicy writes two of them, and
// docs/semantics.md lists them: these tests fail when any of them says something else.

var update = flag.Bool("update", false, "rewrite the defaults block of docs/semantics.md")

// repoFile returns the path of a file of the repository, from this package.
func repoFile(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// wantDefaults are the schema defaults by field path under spec, as the CRD must state them.
func wantDefaults() map[string]any {
	return map[string]any{
		"tier":                             v1alpha1.DefaultTier,
		"rollout.strategy":                 string(DefaultStrategy),
		"rollout.audit.minDuration":        DefaultAuditMinDuration.String(),
		"rollout.audit.maxDenials":         float64(DefaultAuditMaxDenials),
		"rollout.staged.minDuration":       DefaultStagedMinDuration.String(),
		"rollout.staged.maxDenials":        float64(DefaultStagedMaxDenials),
		"rollout.staged.canaryPercent":     float64(DefaultCanaryPercent),
		"rollout.rollback.deniedPerMinute": float64(DefaultRollbackDeniedPerMinute),
	}
}

// schemaDefaults returns every scalar default under spec in a CRD, by field path.
func schemaDefaults(t *testing.T, crd string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile(repoFile("config", "crd", "bases", crd))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", crd, err)
	}
	if len(doc.Spec.Versions) != 1 {
		t.Fatalf("%s: %d versions; this test reads one", crd, len(doc.Spec.Versions))
	}
	out := map[string]any{}
	var walk func(path string, s map[string]any)
	walk = func(path string, s map[string]any) {
		if d, ok := s["default"]; ok {
			if _, isObject := d.(map[string]any); !isObject {
				out[path] = d
			}
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			child := name
			if path != "" {
				child = path + "." + name
			}
			if ps, ok := p.(map[string]any); ok {
				walk(child, ps)
			}
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(path+"[]", items)
		}
	}
	root := doc.Spec.Versions[0].Schema.OpenAPIV3Schema
	spec, _ := root["properties"].(map[string]any)["spec"].(map[string]any)
	walk("", spec)
	return out
}

func TestCRDSchemaDefaultsAreThePackageDefaults(t *testing.T) {
	for _, crd := range []string{"policy.palisade.dev_networkpolicies.yaml", "policy.palisade.dev_globalnetworkpolicies.yaml"} {
		got := schemaDefaults(t, crd)
		want := wantDefaults()
		for path, w := range want {
			if g, ok := got[path]; !ok {
				t.Errorf("%s: spec.%s has no schema default; want %v (pkg/defaulting)", crd, path, w)
			} else if fmt.Sprint(g) != fmt.Sprint(w) {
				t.Errorf("%s: spec.%s defaults to %v in the schema, to %v in pkg/defaulting", crd, path, g, w)
			}
		}
		for path, g := range got {
			if _, ok := want[path]; !ok {
				t.Errorf("%s: spec.%s has schema default %v that pkg/defaulting does not know", crd, path, g)
			}
		}
	}
}

func TestAdmissionPolicyWritesThePackageDefaults(t *testing.T) {
	raw, err := os.ReadFile(repoFile("config", "admissionpolicy", "policy-defaults.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for field, want := range map[string]string{"tier": v1alpha1.DefaultTier, "rollout/strategy": string(DefaultStrategy)} {
		written := regexp.MustCompile(`path: "/spec/`+field+`", value: "([^"]*)"`).FindAllStringSubmatch(text, -1)
		if len(written) == 0 {
			t.Errorf("the admission policy no longer writes spec.%s; update this test with it", field)
		}
		for _, m := range written {
			if m[1] != want {
				t.Errorf("the admission policy writes spec.%s = %q; pkg/defaulting says %q", field, m[1], want)
			}
		}
		// An absent field reads as its default in the conditions, so only an explicit empty one
		// is patched.
		sel := "?" + strings.ReplaceAll(field, "/", ".?")
		for _, m := range regexp.MustCompile(regexp.QuoteMeta(sel)+`\.orValue\('([^']*)'\)`).FindAllStringSubmatch(text, -1) {
			if m[1] != want {
				t.Errorf("the admission policy reads an absent spec.%s as %q; pkg/defaulting says %q", field, m[1], want)
			}
		}
	}
}

const (
	docsBegin = "<!-- defaults: generated from pkg/defaulting; TestDefaultsHaveOneSource checks it -->\n"
	docsEnd   = "<!-- end defaults -->\n"
)

// defaultsDoc is the list of defaults docs/semantics.md §2 holds, written from the constants.
func defaultsDoc() string {
	return fmt.Sprintf("- `tier`: `%s`.\n- `rollout.strategy`: `%s`.\n"+
		"- `rollout.audit`: minimum duration `%s`, at most `%d` denials.\n"+
		"- `rollout.staged`: minimum duration `%s`, at most `%d` denials, canary `%d`%%.\n"+
		"- `rollout.rollback`: step back above `%d` denials per minute.\n",
		v1alpha1.DefaultTier, DefaultStrategy, DefaultAuditMinDuration, DefaultAuditMaxDenials,
		DefaultStagedMinDuration, DefaultStagedMaxDenials, DefaultCanaryPercent, DefaultRollbackDeniedPerMinute)
}

func TestDefaultsHaveOneSource(t *testing.T) {
	path := repoFile("docs", "semantics.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	before, rest, ok := strings.Cut(doc, docsBegin)
	if !ok {
		t.Fatalf("%s: no %q marker", path, strings.TrimSpace(docsBegin))
	}
	got, after, ok := strings.Cut(rest, docsEnd)
	if !ok {
		t.Fatalf("%s: no %q marker", path, strings.TrimSpace(docsEnd))
	}
	want := defaultsDoc()
	if *update {
		if err := os.WriteFile(path, []byte(before+docsBegin+want+docsEnd+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != want {
		t.Errorf("%s lists the defaults as\n%s\npkg/defaulting says\n%s(run go test ./pkg/defaulting -run DefaultsHaveOneSource -update)", path, got, want)
	}
}
