package chart

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/palisade-dev/palisade/test/assets"
)

// chartCopies are the files `make chart-sync` copies from config/ into the chart (CHART_SYNC in the
// Makefile). The chart's templates read them; nothing in the chart restates a rule.
var chartCopies = map[string]string{
	"config/rbac/role.yaml":                       "files/rbac/role.yaml",
	"config/rbac/metrics_reader_role.yaml":        "files/rbac/metrics_reader_role.yaml",
	"config/webhook/manifests.yaml":               "files/webhook/manifests.yaml",
	"config/admissionpolicy/policy-defaults.yaml": "files/admissionpolicy/policy-defaults.yaml",
	"config/argocd/health.lua":                    "argocd/health.lua",
	"config/argocd/argocd-cm.yaml":                "argocd/argocd-cm.yaml",
}

func TestChartCopiesMatchConfig(t *testing.T) {
	for src, dst := range chartCopies {
		sameFile(t, filepath.Join(repoRoot, src), filepath.Join(chartDir, dst))
	}
	crds, err := filepath.Glob(filepath.Join(configDir, "crd", "bases", "*.yaml"))
	if err != nil || len(crds) == 0 {
		t.Fatalf("no CRDs in config/crd/bases (%v)", err)
	}
	copies, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if len(copies) != len(crds) {
		t.Errorf("charts/palisade/crds holds %d CRDs, config/crd/bases %d: run 'make chart-sync'", len(copies), len(crds))
	}
	for _, src := range crds {
		sameFile(t, src, filepath.Join(chartDir, "crds", filepath.Base(src)))
	}
}

func sameFile(t *testing.T, src, dst string) {
	t.Helper()
	a, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Errorf("%v: run 'make chart-sync'", err)
		return
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s: run 'make chart-sync' and commit", dst, src)
	}
}

// kustomize builds a kustomization with the envtest kubectl.
func kustomize(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	bin := filepath.Join(assets.Require(t), "kubectl")
	out, err := exec.Command(bin, "kustomize", dir).Output()
	if err != nil {
		var stderr []byte
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			stderr = ee.Stderr
		}
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr)
	}
	objs, err := parseObjects(string(out))
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v", dir, err)
	}
	return objs
}

// olderClusterKustomization is config/default without the apiserver-defaulting component, as its
// comment tells users of clusters before 1.36 to do.
func olderClusterKustomization(t *testing.T) string {
	t.Helper()
	// kustomize refuses absolute resource paths: name config/ relative to the temporary directory.
	abs, err := filepath.Abs(configDir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, abs)
	if err != nil {
		t.Fatal(err)
	}
	k := fmt.Sprintf(`apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: palisade-system
resources:
- %[1]s/crd
- %[1]s/rbac
- %[1]s/manager
- %[1]s/webhook
`, filepath.ToSlash(rel))
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withoutBlankLines drops the empty lines of every multi-line string in v. kustomize (kyaml, as of
// kubectl 1.37) inserts an empty line before each more-indented line of a literal block scalar,
// such as the CEL expressions of the MutatingAdmissionPolicy; CEL ignores them, and the chart's copy
// of the policy has none. Nothing else in a rule or a webhook spans lines.
func withoutBlankLines(v any) any {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "\n") {
			return x
		}
		lines := strings.Split(x, "\n")
		return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "" }), "\n")
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = withoutBlankLines(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = withoutBlankLines(e)
		}
		return out
	default:
		return v
	}
}

func findIn(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// The chart and config/ install the same RBAC rules, webhook rules and admission policy, on clusters
// with and without MutatingAdmissionPolicy.
func TestChartAgreesWithConfig(t *testing.T) {
	for _, tc := range []struct {
		name, kube string
		config     func(t *testing.T) string
	}{
		{"1.36 and later (config/default)", newKube, func(*testing.T) string { return filepath.Join(configDir, "default") }},
		{"before 1.36 (config/default without apiserver-defaulting)", legacyKube, olderClusterKustomization},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := kustomize(t, tc.config(t))
			got, err := render(nil, tc.kube)
			if err != nil {
				t.Fatal(err)
			}
			compared := 0
			for _, w := range want {
				var fields [][]string
				switch w.GetKind() {
				case "ClusterRole", "Role":
					fields = [][]string{{"rules"}}
				case "ClusterRoleBinding", "RoleBinding":
					fields = [][]string{{"roleRef"}, {"subjects"}}
				case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
					fields = [][]string{{"webhooks"}}
				case "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding":
					fields = [][]string{{"spec"}}
				case "Service", "PodDisruptionBudget":
					fields = [][]string{{"spec"}}
				case "CustomResourceDefinition":
					continue // the chart's crds/ are byte copies (TestChartCopiesMatchConfig)
				default:
					continue
				}
				g := got.find(w.GetKind(), w.GetName())
				if g == nil {
					t.Errorf("config/ installs %s %s, the chart does not", w.GetKind(), w.GetName())
					continue
				}
				if g.GetNamespace() != w.GetNamespace() {
					t.Errorf("%s %s: namespace %q, config/ %q", w.GetKind(), w.GetName(), g.GetNamespace(), w.GetNamespace())
				}
				for _, f := range fields {
					wv, _, _ := unstructured.NestedFieldNoCopy(w.Object, f...)
					gv, _, _ := unstructured.NestedFieldNoCopy(g.Object, f...)
					wv, gv = withoutBlankLines(wv), withoutBlankLines(gv)
					if diff := cmp.Diff(wv, gv); diff != "" {
						t.Errorf("%s %s .%v differs from config/ (-config +chart):\n%s", w.GetKind(), w.GetName(), f, diff)
					}
				}
				compared++
			}
			// The chart installs no admission configuration and no controller role config/ does not.
			for _, g := range got.objects {
				switch g.GetKind() {
				case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding":
				case "ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding":
					if g.GetName() == "palisade-enforcer" {
						continue // the enforcer's role is the chart's until its markers land (enforcer.yaml)
					}
				default:
					continue
				}
				if findIn(want, g.GetKind(), g.GetName()) == nil {
					t.Errorf("the chart installs %s %s, config/ does not", g.GetKind(), g.GetName())
				}
			}
			kinds := map[string]bool{}
			for _, w := range want {
				kinds[w.GetKind()] = true
			}
			for _, k := range []string{"ClusterRole", "Role", "ValidatingWebhookConfiguration"} {
				if !kinds[k] {
					t.Errorf("config/ renders no %s: the comparison would be empty", k)
				}
			}
			if compared < 8 {
				t.Errorf("compared only %d objects", compared)
			}
			mutating := findIn(want, "MutatingWebhookConfiguration", "palisade-mutating-webhook-configuration") != nil
			if mutating != (tc.kube == legacyKube) {
				t.Errorf("config/ registers the mutating webhook: %v on %s", mutating, tc.kube)
			}
		})
	}
}

// Argo CD's files in the chart: the copies above, and a README that points at them.
func TestArgoCDFilesDocumented(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(chartDir, "argocd", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"health.lua", "argocd-cm.yaml", "application.yaml", "RespectIgnoreDifferences=true"} {
		if !bytes.Contains(raw, []byte(f)) {
			t.Errorf("charts/palisade/argocd/README.md does not mention %s", f)
		}
	}
	app, err := parseFile(filepath.Join(chartDir, "argocd", "application.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := parseFile(filepath.Join(configDir, "argocd", "application.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range [][]string{{"spec", "ignoreDifferences"}, {"spec", "syncPolicy"}} {
		a, _, _ := unstructured.NestedFieldNoCopy(app[0].Object, f...)
		b, _, _ := unstructured.NestedFieldNoCopy(ref[0].Object, f...)
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("chart's argocd/application.yaml %v differs from config/argocd's:\n%s", f, diff)
		}
	}
	if chart, _, _ := unstructured.NestedString(app[0].Object, "spec", "source", "chart"); chart == "" {
		if path, _, _ := unstructured.NestedString(app[0].Object, "spec", "source", "path"); !slices.Contains([]string{"charts/palisade"}, path) {
			t.Errorf("chart's argocd/application.yaml does not install the chart (source %v)", app[0].Object["spec"])
		}
	}
}

func parseFile(path string) ([]*unstructured.Unstructured, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseObjects(string(raw))
}
