package knp

import (
	"strings"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// result is what a translation is compared as: the whole Policy and every error, in YAML.
type result struct {
	Spec           v1alpha1.PolicySpec `json:"spec"`
	IngressOrigins []int               `json:"ingressOrigins,omitempty"`
	EgressOrigins  []int               `json:"egressOrigins,omitempty"`
	Errors         []string            `json:"errors,omitempty"`
}

func render(t *testing.T, p Policy, errs ErrorList) string {
	t.Helper()
	r := result{Spec: p.Spec, IngressOrigins: p.IngressOrigins, EgressOrigins: p.EgressOrigins}
	for _, e := range errs {
		r.Errors = append(r.Errors, e.Error())
	}
	out, err := yaml.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func parseSpec(t *testing.T, in string) *networkingv1.NetworkPolicySpec {
	t.Helper()
	var spec networkingv1.NetworkPolicySpec
	if err := yaml.UnmarshalStrict([]byte(in), &spec); err != nil {
		t.Fatalf("test input: %v", err)
	}
	return &spec
}

// TestTranslate pins the translation of valid specs (docs/semantics.md §7.2),
// each row a whole input spec and the whole result, in both forms where they differ.
func TestTranslate(t *testing.T) {
	tests := []translateCase{
		{
			name: "empty podSelector selects every pod: the orchestrator clause alone, tier default",
			form: FormCalico,
			in: `
podSelector: {}
`,
			want: `
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "empty podSelector selects every pod: all(), tier left to defaulting",
			form: FormPalisade,
			in: `
podSelector: {}
`,
			want: `
spec:
  order: 1000
  selector: all()
  types:
  - Ingress
`,
		},
		{
			name: "podSelector: matchLabels sorted by key, then matchExpressions in written order",
			form: FormCalico,
			in: `
podSelector:
  matchLabels: {tier: api, app: shop}
  matchExpressions:
  - {key: track, operator: In, values: [stable, canary]}
  - {key: legacy, operator: NotIn, values: ["true"]}
  - {key: owner, operator: Exists}
  - {key: debug, operator: DoesNotExist}
`,
			want: `
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s' && app == 'shop' && tier == 'api'
    && track in { 'stable', 'canary' } && legacy not in { 'true' } && has(owner) &&
    ! has(debug)
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "podSelector without the orchestrator clause",
			form: FormPalisade,
			in: `
podSelector:
  matchLabels: {tier: api, app: shop}
  matchExpressions:
  - {key: track, operator: In, values: [stable, canary]}
  - {key: debug, operator: DoesNotExist}
`,
			want: `
spec:
  order: 1000
  selector: app == 'shop' && tier == 'api' && track in { 'stable', 'canary' } && !
    has(debug)
  types:
  - Ingress
`,
		},
		{
			name: "peers: podSelector {} is the policy's namespace, namespaceSelector {} every namespace, nil namespaceSelector the policy's, namespaceSelector alone still pods only",
			form: FormCalico,
			in: `
podSelector: {matchLabels: {app: db}}
ingress:
- from:
  - podSelector: {}
  - podSelector: {matchLabels: {role: web}}
  - namespaceSelector: {}
  - namespaceSelector: {matchLabels: {team: ops}}
  - podSelector: {matchLabels: {role: web}}
    namespaceSelector: {}
  - podSelector: {}
    namespaceSelector: {matchLabels: {team: ops}}
`,
			want: `
ingressOrigins:
- 0
- 0
- 0
- 0
- 0
- 0
spec:
  ingress:
  - action: Allow
    source:
      selector: projectcalico.org/orchestrator == 'k8s'
  - action: Allow
    source:
      selector: projectcalico.org/orchestrator == 'k8s' && role == 'web'
  - action: Allow
    source:
      namespaceSelector: all()
      selector: projectcalico.org/orchestrator == 'k8s'
  - action: Allow
    source:
      namespaceSelector: team == 'ops'
      selector: projectcalico.org/orchestrator == 'k8s'
  - action: Allow
    source:
      namespaceSelector: all()
      selector: projectcalico.org/orchestrator == 'k8s' && role == 'web'
  - action: Allow
    source:
      namespaceSelector: team == 'ops'
      selector: projectcalico.org/orchestrator == 'k8s'
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s' && app == 'db'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "peers: no orchestrator clause, an empty pod selector is all(), namespaceSelector alone has no selector",
			form: FormPalisade,
			in: `
podSelector: {matchLabels: {app: db}}
ingress:
- from:
  - podSelector: {}
  - podSelector: {matchLabels: {role: web}}
  - namespaceSelector: {}
  - namespaceSelector: {matchLabels: {team: ops}}
  - podSelector: {matchLabels: {role: web}}
    namespaceSelector: {}
  - podSelector: {}
    namespaceSelector: {matchLabels: {team: ops}}
`,
			want: `
ingressOrigins:
- 0
- 0
- 0
- 0
- 0
- 0
spec:
  ingress:
  - action: Allow
    source:
      selector: all()
  - action: Allow
    source:
      selector: role == 'web'
  - action: Allow
    source:
      namespaceSelector: all()
  - action: Allow
    source:
      namespaceSelector: team == 'ops'
  - action: Allow
    source:
      namespaceSelector: all()
      selector: role == 'web'
  - action: Allow
    source:
      namespaceSelector: team == 'ops'
      selector: all()
  order: 1000
  selector: app == 'db'
  types:
  - Ingress
`,
		},
		{
			name: "ports: grouped by protocol (TCP when unset) in sorted order, named first, numbers merged, endPort a range, a port-less entry is every port of its protocol",
			form: FormPalisade,
			in: `
podSelector: {}
ingress:
- ports:
  - port: 82
  - port: 80
  - {protocol: TCP, port: 81}
  - {port: 9000, endPort: 9010}
  - port: https
  - {protocol: UDP, port: 53}
  - {protocol: SCTP, port: 7}
  - {protocol: SCTP}
  - {protocol: UDP, port: 54}
`,
			want: `
ingressOrigins:
- 0
- 0
- 0
spec:
  ingress:
  - action: Allow
    protocol: SCTP
  - action: Allow
    destination:
      ports:
      - https
      - 80:82
      - 9000:9010
    protocol: TCP
  - action: Allow
    destination:
      ports:
      - "53:54"
    protocol: UDP
  order: 1000
  selector: all()
  types:
  - Ingress
`,
		},
		{
			name: "ports: one protocol x peer rule each, ports of the group on every peer",
			form: FormPalisade,
			in: `
podSelector: {}
ingress:
- from:
  - podSelector: {matchLabels: {role: web}}
  - ipBlock: {cidr: 10.0.0.0/8}
  ports:
  - {protocol: UDP, port: 53}
  - {protocol: TCP, port: 53}
`,
			want: `
ingressOrigins:
- 0
- 0
- 0
- 0
spec:
  ingress:
  - action: Allow
    destination:
      ports:
      - 53
    protocol: TCP
    source:
      selector: role == 'web'
  - action: Allow
    destination:
      ports:
      - 53
    protocol: TCP
    source:
      nets:
      - 10.0.0.0/8
  - action: Allow
    destination:
      ports:
      - 53
    protocol: UDP
    source:
      selector: role == 'web'
  - action: Allow
    destination:
      ports:
      - 53
    protocol: UDP
    source:
      nets:
      - 10.0.0.0/8
  order: 1000
  selector: all()
  types:
  - Ingress
`,
		},
		{
			name: "ports: a single port number stays as written next to named ports; endPort equal to port is one port",
			form: FormPalisade,
			in: `
podSelector: {}
ingress:
- ports:
  - port: http
  - {port: 80, endPort: 80}
  - port: metrics
`,
			want: `
ingressOrigins:
- 0
spec:
  ingress:
  - action: Allow
    destination:
      ports:
      - http
      - 80
      - metrics
    protocol: TCP
  order: 1000
  selector: all()
  types:
  - Ingress
`,
		},
		{
			name: "egress: peer and ports both in destination; a rule without ports or peers allows everything; egress rules add Egress when policyTypes is empty",
			form: FormPalisade,
			in: `
podSelector: {}
egress:
- to:
  - podSelector: {matchLabels: {k8s-app: kube-dns}}
    namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}
  ports:
  - {protocol: UDP, port: 53}
- {}
`,
			want: `
egressOrigins:
- 0
- 1
spec:
  egress:
  - action: Allow
    destination:
      namespaceSelector: kubernetes.io/metadata.name == 'kube-system'
      ports:
      - 53
      selector: k8s-app == 'kube-dns'
    protocol: UDP
  - action: Allow
  order: 1000
  selector: all()
  types:
  - Ingress
  - Egress
`,
		},
		{
			name: "ipBlock: nets and notNets in network form, IPv4 and IPv6",
			form: FormCalico,
			in: `
podSelector: {}
ingress:
- from:
  - ipBlock: {cidr: 203.0.113.77/24, except: [203.0.113.64/28, 203.0.113.7/32]}
  - ipBlock: {cidr: "2001:db8::1/32", except: ["2001:db8:1::/48"]}
`,
			want: `
ingressOrigins:
- 0
- 0
spec:
  ingress:
  - action: Allow
    source:
      nets:
      - 203.0.113.0/24
      notNets:
      - 203.0.113.64/28
      - 203.0.113.7/32
  - action: Allow
    source:
      nets:
      - 2001:db8::/32
      notNets:
      - 2001:db8:1::/48
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "policyTypes empty: Ingress only; egress [] does not make an egress default-deny",
			form: FormCalico,
			in: `
podSelector: {}
ingress: []
egress: []
`,
			want: `
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
`,
		},
		{
			name: "policyTypes [Egress]: an egress default-deny; ingress rules are kept and govern nothing",
			form: FormCalico,
			in: `
podSelector: {}
policyTypes: [Egress]
ingress:
- {}
`,
			want: `
ingressOrigins:
- 0
spec:
  ingress:
  - action: Allow
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Egress
`,
		},
		{
			name: "policyTypes: duplicates are harmless, order is Ingress then Egress",
			form: FormCalico,
			in: `
podSelector: {}
policyTypes: [Egress, Ingress, Egress]
`,
			want: `
spec:
  order: 1000
  selector: projectcalico.org/orchestrator == 'k8s'
  tier: default
  types:
  - Ingress
  - Egress
`,
		},
	}
	runTranslate(t, tests)
}

// translateCase is one whole input spec (YAML) and the whole result.
type translateCase struct {
	name string
	form Form
	in   string
	want string
}

func runTranslate(t *testing.T, tests []translateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, errs := Translate(parseSpec(t, tt.in), tt.form)
			if got, want := render(t, p, errs), strings.TrimPrefix(tt.want, "\n"); got != want {
				t.Errorf("Translate differs\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}
