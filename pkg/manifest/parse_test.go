package manifest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// describe renders a Set as one line per document (and one per decode problem), so that tables can
// state every expectation exactly.
func describe(set *Set) []string {
	var out []string
	for _, d := range set.Documents {
		class := map[Class]string{ClassSupported: "supported", ClassCalico: "calico", ClassOther: "other"}[d.Class]
		typed := "-"
		if d.Object != nil {
			typed = fmt.Sprintf("%T", d.Object)
		}
		out = append(out, fmt.Sprintf("%s item=%d line=%d %s %s %s/%s %s %s",
			d.Source, d.Source.Item, d.Source.Line, d.APIVersion, d.Kind, d.Namespace, d.Name, class, typed))
		if d.Err != nil {
			for _, f := range d.Err.Fields {
				out = append(out, fmt.Sprintf("  %s line=%d: %s", f.Path, f.Line, f.Message))
			}
		}
	}
	return out
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{
			name: "palisade, kubernetes and calico kinds",
			in: `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: a, namespace: prod}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: g}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k, namespace: prod}
spec: {podSelector: {}}
---
apiVersion: v1
kind: Pod
metadata: {name: p, namespace: prod}
---
apiVersion: v1
kind: Namespace
metadata: {name: prod}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: sa, namespace: prod}
---
apiVersion: v1
kind: Service
metadata: {name: svc, namespace: prod}
---
apiVersion: projectcalico.org/v3
kind: StagedNetworkPolicy
metadata: {name: c, namespace: prod}
spec: {whatever: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d, namespace: prod}
spec: {anything: goes}
`,
			want: []string{
				"f.yaml:0 item=-1 line=1 policy.palisade.dev/v1alpha1 NetworkPolicy prod/a supported *v1alpha1.NetworkPolicy",
				"f.yaml:1 item=-1 line=4 policy.palisade.dev/v1alpha1 GlobalNetworkPolicy /g supported *v1alpha1.GlobalNetworkPolicy",
				"f.yaml:2 item=-1 line=8 networking.k8s.io/v1 NetworkPolicy prod/k supported *v1.NetworkPolicy",
				"f.yaml:3 item=-1 line=13 v1 Pod prod/p supported *v1.Pod",
				"f.yaml:4 item=-1 line=17 v1 Namespace /prod supported *v1.Namespace",
				"f.yaml:5 item=-1 line=21 v1 ServiceAccount prod/sa supported *v1.ServiceAccount",
				"f.yaml:6 item=-1 line=25 v1 Service prod/svc supported *v1.Service",
				"f.yaml:7 item=-1 line=29 projectcalico.org/v3 StagedNetworkPolicy prod/c calico -",
				"f.yaml:8 item=-1 line=34 apps/v1 Deployment prod/d other -",
			},
		},
		{
			name: "unknown fields and wrong types are located by path and line",
			in: `# leading comment
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: a
  namespace: prod
spec:
  selector: app == "x"
  ingress:
  - action: Allow
    protocol: TCP
    bogus: true
    destination:
      ports: [80, {a: 1}]
  - action: Allow
    ipVersion: "4"
    source:
      nets: 10.0.0.0/8
  order: high
`,
			want: []string{
				"f.yaml:0 item=-1 line=1 policy.palisade.dev/v1alpha1 NetworkPolicy prod/a supported -",
				`  spec.ingress[0].bogus line=12: unknown field "bogus"`,
				"  spec.ingress[0].destination.ports[1] line=14: expected an integer or a string, got an object",
				`  spec.ingress[1].ipVersion line=16: expected an integer, got the string "4"`,
				`  spec.ingress[1].source.nets line=18: expected a list, got the string "10.0.0.0/8"`,
				`  spec.order line=19: expected a number, got the string "high"`,
			},
		},
		{
			name: "field names are case-sensitive",
			in: `apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: g}
spec:
  Selector: all()
`,
			want: []string{
				"f.yaml:0 item=-1 line=1 policy.palisade.dev/v1alpha1 GlobalNetworkPolicy /g supported -",
				`  spec.Selector line=5: unknown field "Selector"`,
			},
		},
		{
			name: "unknown palisade kind and version are errors, not other documents",
			in: `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolcy
metadata: {name: a}
---
apiVersion: policy.palisade.dev/v1
kind: NetworkPolicy
metadata: {name: b}
`,
			want: []string{
				"f.yaml:0 item=-1 line=1 policy.palisade.dev/v1alpha1 NetworkPolcy /a supported -",
				`  kind line=2: unknown kind "NetworkPolcy" in policy.palisade.dev/v1alpha1; its kinds are NetworkPolicy and GlobalNetworkPolicy`,
				"f.yaml:1 item=-1 line=4 policy.palisade.dev/v1 NetworkPolicy /b supported -",
				`  apiVersion line=5: unknown version "v1" of policy.palisade.dev; the served version is policy.palisade.dev/v1alpha1`,
			},
		},
		{
			name: "lists are expanded and typed lists lend their type to items",
			in: `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: one}
- apiVersion: projectcalico.org/v3
  kind: GlobalNetworkPolicy
  metadata: {name: two}
---
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicyList
items:
- metadata: {name: three, namespace: prod}
- metadata: {name: four, namespace: prod}
  spec: {tier: [x]}
`,
			want: []string{
				"f.yaml:0 item=0 line=1 v1 Namespace /one supported *v1.Namespace",
				"f.yaml:0 item=1 line=1 projectcalico.org/v3 GlobalNetworkPolicy /two calico -",
				"f.yaml:1 item=0 line=10 policy.palisade.dev/v1alpha1 NetworkPolicy prod/three supported *v1alpha1.NetworkPolicy",
				"f.yaml:1 item=1 line=10 policy.palisade.dev/v1alpha1 NetworkPolicy prod/four supported -",
				`  spec.tier line=16: expected a string, got a list`,
			},
		},
		{
			name: "null documents are skipped but counted as written",
			in:   "~\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n",
			want: []string{"f.yaml:1 item=-1 line=2 v1 Namespace /x supported *v1.Namespace"},
		},
		{
			name: "json document",
			in:   "{\n\t\"apiVersion\": \"v1\",\n\t\"kind\": \"Namespace\",\n\t\"metadata\": {\"name\": \"j\", \"labels\": {\"a\": 1}}\n}\n",
			want: []string{
				"f.yaml:0 item=-1 line=1 v1 Namespace /j supported -",
				`  metadata.labels[a] line=4: expected a string, got the number 1`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			set, err := Parse("f.yaml", []byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := describe(set); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got:\n%s\nwant:\n%s", joinLines(got), joinLines(tt.want))
			}
		})
	}
}

func joinLines(l []string) string {
	s := ""
	for _, x := range l {
		s += x + "\n"
	}
	return s
}

func TestParseFatal(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{
			name: "syntax error in the second document names it and the file line",
			in:   "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: b\n   bad: indent\n",
			want: "f.yaml: document 1, line 9: invalid YAML: mapping values are not allowed in this context",
		},
		{
			name: "duplicate keys",
			in:   "apiVersion: v1\nkind: Namespace\nkind: Pod\n",
			want: `f.yaml: document 0, line 3: invalid YAML: key "kind" already set in map`,
		},
		{
			name: "missing kind",
			in:   "apiVersion: v1\nmetadata: {name: a}\n",
			want: "f.yaml: document 0, line 1: missing kind: every document needs apiVersion and kind",
		},
		{
			name: "missing apiVersion",
			in:   "kind: Pod\n",
			want: "f.yaml: document 0, line 1: missing apiVersion: every document needs apiVersion and kind",
		},
		{
			name: "kind of the wrong type",
			in:   "apiVersion: v1\nkind: [Pod]\n",
			want: "f.yaml: document 0, line 1: kind: expected a string, got a list",
		},
		{
			name: "scalar document",
			in:   "just text\n",
			want: `f.yaml: document 0, line 1: document is not an object: expected an object, got the string "just text"`,
		},
		{
			name: "list item without kind in an untyped List",
			in:   "apiVersion: v1\nkind: List\nitems:\n- metadata: {name: a}\n",
			want: "f.yaml: document 0, line 4: items[0]: missing kind: every document needs apiVersion and kind",
		},
		{
			name: "items that are not a list",
			in:   "apiVersion: v1\nkind: List\nitems: 3\n",
			want: "f.yaml: document 0, line 3: List: items: expected a list, got the number 3",
		},
		{
			name: "tab indentation",
			in:   "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n",
			want: "f.yaml: document 0, line 4: invalid YAML: found character that cannot start any token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			var fe *Error
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *manifest.Error: %v", err, err)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

func TestParseKeepsWhatWasWritten(t *testing.T) {
	in := `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: a, namespace: prod, labels: {app: x}}
spec:
  order: 10.5
  selector: app == 'x'
  ingress:
  - action: Allow
    protocol: "6"
    destination: {ports: ["80", 443, "8000:8080", http]}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: k, namespace: prod}
spec:
  podSelector: {matchLabels: {app: x}}
  ingress:
  - ports: [{port: 80, endPort: 90}]
`
	set, err := Parse("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if err := set.Err(); err != nil {
		t.Fatal(err)
	}
	order := 10.5
	wantNP := &v1alpha1.NetworkPolicy{}
	wantNP.APIVersion, wantNP.Kind = "policy.palisade.dev/v1alpha1", "NetworkPolicy"
	wantNP.Name, wantNP.Namespace, wantNP.Labels = "a", "prod", map[string]string{"app": "x"}
	six := v1alpha1.ProtocolFromInt(6)
	wantNP.Spec.Order = &order
	wantNP.Spec.Selector = "app == 'x'"
	wantNP.Spec.Ingress = []v1alpha1.Rule{{
		Action:   v1alpha1.Allow,
		Protocol: &six,
		Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{
			v1alpha1.PortFromString("80"), v1alpha1.PortFromInt(443), v1alpha1.PortFromString("8000:8080"), v1alpha1.PortFromString("http"),
		}},
	}}
	if len(set.NetworkPolicies) != 1 || !reflect.DeepEqual(set.NetworkPolicies[0].Object, wantNP) {
		t.Errorf("NetworkPolicies = %+v, want one %+v", set.NetworkPolicies, wantNP)
	}
	if set.NetworkPolicies[0].Source != (Source{File: "f.yaml", Index: 0, Item: -1, Line: 1}) {
		t.Errorf("source = %+v", set.NetworkPolicies[0].Source)
	}
	if len(set.KubernetesNetworkPolicies) != 1 {
		t.Fatalf("KubernetesNetworkPolicies = %d, want 1", len(set.KubernetesNetworkPolicies))
	}
	knp := set.KubernetesNetworkPolicies[0]
	var wantKNP networkingv1.NetworkPolicySpec
	end := int32(90)
	port := intstrFromInt(80)
	wantKNP.PodSelector.MatchLabels = map[string]string{"app": "x"}
	wantKNP.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: []networkingv1.NetworkPolicyPort{{Port: &port, EndPort: &end}}}}
	if !reflect.DeepEqual(knp.Object.Spec, wantKNP) || knp.Source.Index != 1 || knp.Source.Line != 11 {
		t.Errorf("KNP = %+v at %+v", knp.Object.Spec, knp.Source)
	}
	if len(set.Pods)+len(set.Namespaces)+len(set.ServiceAccounts)+len(set.Services)+len(set.GlobalNetworkPolicies) != 0 {
		t.Error("unexpected objects in other slices")
	}
}

func intstrFromInt(i int) intstr.IntOrString { return intstr.FromInt32(int32(i)) }

func TestDocumentTextAndFieldLine(t *testing.T) {
	in := `apiVersion: v1
kind: Namespace
metadata: {name: a}
--- # second
apiVersion: v1
kind: List
items:
- apiVersion: policy.palisade.dev/v1alpha1
  kind: NetworkPolicy
  metadata:
    name: b
    labels:
      app.kubernetes.io/name: x
      "7": seven
  spec:
    ingress:
    - action: Allow
    - action: Deny
      source:
        nets: [10.0.0.0/8]
`
	set, err := Parse("f.yaml", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(set.Documents[0].Text), "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n"; got != want {
		t.Errorf("Text = %q, want %q", got, want)
	}
	item := set.Documents[1]
	if item.Text != nil {
		t.Errorf("a List item has text %q", item.Text)
	}
	tests := []struct {
		path string
		want int
	}{
		{"", 8},
		{"metadata.name", 11},
		{"metadata.labels[app.kubernetes.io/name]", 13},
		{"metadata.labels[7]", 14},
		{"spec.ingress[1]", 18},
		{"spec.ingress[1].source.nets[0]", 20},
		{"spec.ingress[2]", 0},
		{"spec.egress", 0},
		{"spec.ingress[1", 0},
	}
	for _, tt := range tests {
		if got := item.FieldLine(tt.path); got != tt.want {
			t.Errorf("FieldLine(%q) = %d, want %d", tt.path, got, tt.want)
		}
	}
}
