package validation

import (
	"reflect"
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// FuzzValidate decodes arbitrary YAML or JSON into each kind, validates it, defaults it and validates
// it again. Besides never panicking it checks three properties: every error names a field under
// metadata or spec, defaulting is idempotent, and defaulting never makes a valid object invalid.
func FuzzValidate(f *testing.F) {
	for _, sc := range scenarios {
		f.Add([]byte(sc.manifest))
	}
	for _, seed := range []string{
		`{"metadata":{"name":"a","namespace":"b"},"spec":{"ingress":[{"action":"Allow","protocol":"tcp","destination":{"ports":[0,"1:2:3","HTTP"],"nets":["10.0.0.1","::/0"]}}]}}`,
		`{"spec":{"egress":[{"action":"Deny","source":{"notNets":["0.0.0.0/0","fd00::/8"],"services":{"name":""}}}],"types":["Egress","Egress","x"]}}`,
		`{"spec":{"preDNAT":true,"doNotTrack":true,"egress":[{}],"rollout":{"strategy":"x","staged":{"canaryPercent":0}}}}`,
		`{"spec":{"podSelector":{"matchExpressions":[{"key":"a","operator":"In"}]},"ingress":[{"from":[{"ipBlock":{"cidr":"10.0.0.0/8","except":["10.0.0.0/8"]}},{}],"ports":[{"port":"x","endPort":3}]}],"policyTypes":["A","B","C"]}}`,
		`spec: {selector: "global(", order: 1e400}`,
		"spec:\n  ingress:\n  - action: Allow\n    icmp: {code: 3}\n    ipVersion: 6\n    protocol: 1\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var np v1alpha1.NetworkPolicy
		if yaml.Unmarshal(data, &np) == nil {
			checkDefaultingProperties(t, &np,
				func() (field.ErrorList, []Warning) { return ValidateNetworkPolicy(&np) },
				func() { defaulting.NetworkPolicy(&np) })
		}
		var gnp v1alpha1.GlobalNetworkPolicy
		if yaml.Unmarshal(data, &gnp) == nil {
			checkDefaultingProperties(t, &gnp,
				func() (field.ErrorList, []Warning) { return ValidateGlobalNetworkPolicy(&gnp) },
				func() { defaulting.GlobalNetworkPolicy(&gnp) })
		}
		var knp networkingv1.NetworkPolicy
		if yaml.Unmarshal(data, &knp) == nil {
			errs, warns := ValidateKubernetesNetworkPolicy(&knp)
			checkFields(t, errs, warns)
		}
	})
}

func checkDefaultingProperties(t *testing.T, obj runtime.Object, validate func() (field.ErrorList, []Warning), applyDefaults func()) {
	t.Helper()
	before, warns := validate()
	checkFields(t, before, warns)
	applyDefaults()
	once := obj.DeepCopyObject() // a deep copy: defaulting writes through pointers
	after, warns := validate()
	checkFields(t, after, warns)
	if len(before) == 0 && len(after) > 0 {
		t.Fatalf("defaulting made a valid object invalid: %v", after)
	}
	applyDefaults()
	if !reflect.DeepEqual(once, obj) {
		t.Fatalf("defaulting is not idempotent:\nonce:  %+v\ntwice: %+v", once, obj)
	}
}

func checkFields(t *testing.T, errs field.ErrorList, warns []Warning) {
	t.Helper()
	for _, e := range errs {
		if !strings.HasPrefix(e.Field, "metadata") && !strings.HasPrefix(e.Field, "spec") {
			t.Fatalf("error outside metadata and spec: %v", e)
		}
	}
	for _, w := range warns {
		if !strings.HasPrefix(w.Field, "spec") || w.Message == "" {
			t.Fatalf("malformed warning: %+v", w)
		}
	}
}
