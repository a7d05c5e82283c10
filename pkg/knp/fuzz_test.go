package knp

import (
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// FuzzSpec translates arbitrary Kubernetes NetworkPolicy specs (JSON or YAML) in both forms.
// Besides never panicking it checks that:
//   - every error names a field under spec;
//   - the origins map every rule to a Kubernetes rule, in order;
//   - the two forms differ only in how selectors and the tier are written: same errors, same
//     rules otherwise, same types;
//   - a translation without errors is a valid Palisade NetworkPolicy spec. The one exception is
//     Palisade's CRD size limits (rules, ports, nets per rule, selector length): a valid
//     Kubernetes policy may exceed them and still means something, and the engine must evaluate
//     it rather than fail it closed (package doc).
func FuzzSpec(f *testing.F) {
	for _, seed := range []string{
		`{"podSelector":{}}`,
		`{"podSelector":{"matchLabels":{"app":"db"},"matchExpressions":[{"key":"k","operator":"In","values":["a","b"]},{"key":"e","operator":"DoesNotExist"}]},"ingress":[{"from":[{"podSelector":{}},{"namespaceSelector":{}},{"ipBlock":{"cidr":"10.0.0.1/16","except":["10.0.1.0/24"]}}],"ports":[{"port":80},{"port":81},{"protocol":"UDP","port":"dns"},{"protocol":"SCTP"},{"port":9000,"endPort":9010}]}],"egress":[{}]}`,
		`{"podSelector":{"matchExpressions":[{"key":"a","operator":"In"}]},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.0.0.0/8"]}},{}],"ports":[{"port":"x","endPort":3}]}],"policyTypes":["A","B","C"]}`,
		`{"podSelector":{"matchLabels":{"a":"x' || has(b) || c == 'y"}},"egress":[{"to":[{"ipBlock":{"cidr":"::ffff:10.0.0.0/104"},"podSelector":{}}],"ports":[{"protocol":"ICMP","port":"80:90"},{"port":0},{"endPort":3}]}],"policyTypes":["Egress"]}`,
		"podSelector: {}\ningress:\n- from:\n  - ipBlock: {cidr: 0.0.0.0/0, except: [0.0.0.0/1, '2001:db8::/32']}\n  ports:\n  - {port: 65535, endPort: 65535}\n",
		"podSelector: {matchLabels: {has: all, in: ''}}\ningress:\n- from:\n  - namespaceSelector: {matchExpressions: [{key: kubernetes.io/metadata.name, operator: NotIn, values: [a]}]}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var spec networkingv1.NetworkPolicySpec
		if yaml.Unmarshal(data, &spec) != nil {
			return
		}
		calico, calicoErrs := Translate(&spec, FormCalico)
		palisade, palisadeErrs := Translate(&spec, FormPalisade)

		for _, e := range calicoErrs {
			if !strings.HasPrefix(e.Field, "spec") || e.Err == nil || e.Err.Error() == "" {
				t.Fatalf("error without a field under spec or without a message: %#v", e)
			}
		}
		checkOrigins(t, calico.Spec.Ingress, calico.IngressOrigins, len(spec.Ingress))
		checkOrigins(t, calico.Spec.Egress, calico.EgressOrigins, len(spec.Egress))
		if !reflect.DeepEqual(calicoErrs, palisadeErrs) {
			t.Fatalf("the forms differ in errors:\n%v\n%v", calicoErrs.Err(), palisadeErrs.Err())
		}
		if !reflect.DeepEqual(withoutSelectors(calico), withoutSelectors(palisade)) {
			t.Fatalf("the forms differ beyond selectors and tier:\n%+v\n%+v", calico, palisade)
		}
		if len(calico.Spec.Types) == 0 {
			t.Fatalf("no types: %+v", calico.Spec)
		}
		if len(calicoErrs) > 0 {
			return
		}
		for _, p := range []Policy{calico, palisade} {
			errs, _ := validation.ValidatePolicySpec(&p.Spec, true, field.NewPath("spec"))
			for _, e := range errs {
				if e.Type != field.ErrorTypeTooMany && e.Type != field.ErrorTypeTooLong {
					t.Fatalf("translation without errors does not validate: %v\ninput: %s\nspec: %+v", errs.ToAggregate(), data, p.Spec)
				}
			}
		}
	})
}

func checkOrigins(t *testing.T, rules []v1alpha1.Rule, origins []int, k8sRules int) {
	t.Helper()
	if len(origins) != len(rules) {
		t.Fatalf("%d rules, %d origins", len(rules), len(origins))
	}
	for i, o := range origins {
		if o < 0 || o >= k8sRules || (i > 0 && o < origins[i-1]) {
			t.Fatalf("origins %v out of range or order for %d Kubernetes rules", origins, k8sRules)
		}
	}
}

// withoutSelectors is a copy of p without what the forms write differently.
func withoutSelectors(p Policy) Policy {
	p.Spec = *p.Spec.DeepCopy()
	p.Spec.Tier, p.Spec.Selector = "", ""
	for _, rules := range [][]v1alpha1.Rule{p.Spec.Ingress, p.Spec.Egress} {
		for i := range rules {
			rules[i].Source.Selector, rules[i].Destination.Selector = "", ""
		}
	}
	return p
}
