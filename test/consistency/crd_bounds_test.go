package consistency

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// kube-api-linter (sigs.k8s.io/kube-api-linter) is a golangci-lint module plugin: using it means
// building a custom golangci-lint (`golangci-lint custom`), which clones golangci-lint's sources from
// GitHub, and CI has the Go module proxy but no GitHub. Its check that matters most here, bounded
// lists and strings (its maxlength linter), is this test instead, over what the API server enforces:
// the generated CRD schemas. Every array has maxItems, every string has maxLength, an enum or a
// format that bounds it, and every map maxProperties, so no single field of a policy can grow without limit (the API server's 3
// MiB request cap is the only other bound, and the webhook and the engine would pay for it).

// boundedFormats are string formats whose values are bounded by construction.
var boundedFormats = []string{"date-time", "duration", "int32", "int64", "byte"}

func TestCRDListsAndStringsAreBounded(t *testing.T) {
	dir := filepath.Join(root, "config", "crd", "bases")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	crds := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		crds++
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var crd struct {
			Spec struct {
				Versions []struct {
					Name   string
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					}
				}
			}
		}
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, v := range crd.Spec.Versions {
			props, _ := v.Schema.OpenAPIV3Schema["properties"].(map[string]any)
			for _, top := range []string{"spec", "status"} {
				if s, ok := props[top].(map[string]any); ok {
					for _, problem := range unbounded(top, s) {
						t.Errorf("%s %s: %s", e.Name(), v.Name, problem)
					}
				}
			}
		}
	}
	if crds == 0 {
		t.Fatalf("no CRDs in %s", dir)
	}
}

// unbounded returns the fields under path whose arrays or strings have no bound.
func unbounded(path string, s map[string]any) []string {
	var out []string
	switch s["type"] {
	case "array":
		if _, ok := s["maxItems"]; !ok {
			out = append(out, path+": array without maxItems")
		}
	case "string":
		_, maxLen := s["maxLength"]
		_, enum := s["enum"]
		format, _ := s["format"].(string)
		if !maxLen && !enum && !slices.Contains(boundedFormats, format) {
			out = append(out, path+": string without maxLength, enum or bounded format")
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok {
				out = append(out, unbounded(path+"."+name, ps)...)
			}
		}
	}
	if items, ok := s["items"].(map[string]any); ok {
		out = append(out, unbounded(path+"[]", items)...)
	}
	// A map is bounded by its number of entries; the size of its values, as of annotations, is
	// validation's to bound (pkg/validation checks their total size as Kubernetes does).
	if _, ok := s["additionalProperties"].(map[string]any); ok {
		if _, ok := s["maxProperties"]; !ok {
			out = append(out, path+": map without maxProperties")
		}
	}
	slices.Sort(out)
	return out
}
