package policy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// webhooksOf returns every webhook of config/webhook/manifests.yaml with its name, its namespace
// selector and whether it intercepts a namespaced resource.
func webhooksOf(t *testing.T) map[string]*metav1.LabelSelector {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "webhook", "manifests.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*metav1.LabelSelector{}
	for _, doc := range strings.Split(string(raw), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "MutatingWebhookConfiguration":
			var c admissionregistrationv1.MutatingWebhookConfiguration
			if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.Webhooks {
				if namespaced(w.Rules) {
					out[w.Name] = w.NamespaceSelector
				}
			}
		case "ValidatingWebhookConfiguration":
			var c admissionregistrationv1.ValidatingWebhookConfiguration
			if err := yaml.UnmarshalStrict([]byte(doc), &c); err != nil {
				t.Fatal(err)
			}
			for _, w := range c.Webhooks {
				if namespaced(w.Rules) {
					out[w.Name] = w.NamespaceSelector
				}
			}
		}
	}
	return out
}

// namespaced reports whether rules intercept namespaced resources (GlobalNetworkPolicy is not).
func namespaced(rules []admissionregistrationv1.RuleWithOperations) bool {
	return slices.ContainsFunc(rules, func(r admissionregistrationv1.RuleWithOperations) bool {
		return slices.Contains(r.Resources, "networkpolicies")
	})
}

func TestExcludedNamespacesHaveOneSource(t *testing.T) {
	want := slices.Sorted(slices.Values(ExcludedNamespaces))
	hooks := webhooksOf(t)
	if len(hooks) == 0 {
		t.Fatal("config/webhook/manifests.yaml holds no webhook for a namespaced kind")
	}
	for name, sel := range hooks {
		var got []string
		if sel != nil {
			for _, e := range sel.MatchExpressions {
				if e.Key == "kubernetes.io/metadata.name" && e.Operator == metav1.LabelSelectorOpNotIn {
					got = append(got, e.Values...)
				}
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("webhook %s skips namespaces %v; ExcludedNamespaces says %v (edit the kubebuilder:webhook markers and run make manifests)", name, got, want)
		}
	}

	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "admission.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, bullet, ok := strings.Cut(string(raw), "**Namespaces needed for repair are excluded**")
	if !ok {
		t.Fatal("docs/admission.md no longer lists the excluded namespaces under \"Namespaces needed for repair are excluded\"")
	}
	bullet, _, _ = strings.Cut(bullet, "(namespaceSelector")
	var listed []string
	for _, m := range regexp.MustCompile("`([a-z0-9-]+)`").FindAllStringSubmatch(bullet, -1) {
		listed = append(listed, m[1])
	}
	slices.Sort(listed)
	if !slices.Equal(listed, want) {
		t.Errorf("docs/admission.md lists the excluded namespaces %v; ExcludedNamespaces says %v", listed, want)
	}
}
