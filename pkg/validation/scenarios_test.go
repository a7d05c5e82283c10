package validation

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// Manifests written from the scenarios of the Calico guides Palisade supports (CIDR egress, named
// ports, global deny of private ranges, service-account ingress, Log then Deny, namespace isolation,
// three-tier app, default deny), with only the apiVersion changed. They must be accepted; the
// warnings they draw are part of the expectation.
type scenario struct {
	name      string
	manifest  string
	wantErrs  []wantErr
	wantWarns []string
}

var scenarios = []scenario{
	{name: "restrict egress to DNS and external CIDRs, log and deny the rest", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: restrict-egress, namespace: production}
spec:
  selector: app == "web-app"
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination:
      ports: [53]
      selector: k8s-app == "kube-dns"
  - action: Allow
    protocol: TCP
    destination:
      ports: [443]
      nets: [203.0.113.0/24, 198.51.100.50/32]
  - action: Log
  - action: Deny
`, wantWarns: []string{noOrderWarning}},
	{name: "database egress to a subnet and the metadata service", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: database-egress, namespace: backend}
spec:
  order: 200
  selector: tier == "database-client"
  types: [Egress]
  egress:
  - action: Allow
    protocol: TCP
    destination: {ports: [5432], nets: [10.100.50.0/24]}
  - action: Allow
    protocol: TCP
    destination: {ports: [80], nets: [169.254.169.254/32]}
  - action: Deny
`},
	{name: "named ports", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-api-ingress, namespace: production}
spec:
  order: 100
  selector: app == "api"
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: tier == "frontend"}
    destination: {ports: [https]}
  - action: Allow
    protocol: TCP
    source: {namespaceSelector: name == "monitoring"}
    destination: {ports: [metrics]}
`},
	{name: "global deny of private ranges", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: deny-private-ip-egress}
spec:
  order: 100
  selector: apply-egress-filter == "true"
  types: [Egress]
  egress:
  - action: Deny
    protocol: TCP
    destination:
      nets: [192.168.0.0/16, 172.16.0.0/12]
      notNets: [10.0.0.0/8]
  - action: Allow
`},
	{name: "service-account ingress", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: database-access-control, namespace: backend}
spec:
  order: 50
  selector: app == "postgres"
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source:
      serviceAccounts:
        names: [api-server, batch-processor]
    destination: {ports: [5432]}
`},
	{name: "log then deny outside a network", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: logged-deny-policy, namespace: production}
spec:
  order: 10
  selector: security-zone == "dmz"
  types: [Ingress, Egress]
  ingress:
  - action: Log
    source: {notNets: [10.0.0.0/8]}
  - action: Deny
    source: {notNets: [10.0.0.0/8]}
  egress:
  - action: Allow
`, wantWarns: []string{
		"spec.ingress[0].source.notNets: lists only IPv4 CIDRs, so the rule never matches IPv6 traffic: set ipVersion to say so",
		"spec.ingress[1].source.notNets: lists only IPv4 CIDRs, so the rule never matches IPv6 traffic: set ipVersion to say so",
	}},
	{name: "log then deny by selector", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-tcp-6379, namespace: production}
spec:
  order: 20
  selector: role == 'database'
  types: [Ingress, Egress]
  ingress:
  - action: Log
    protocol: TCP
    source: {selector: role == 'frontend'}
  - action: Deny
    protocol: TCP
    source: {selector: role == 'frontend'}
`},
	{name: "layered with a Kubernetes policy", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-monitoring, namespace: production}
spec:
  order: 10
  selector: all()
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {namespaceSelector: name == "monitoring"}
    destination: {ports: [9090, 9091]}
`},
	{name: "global deny of external egress", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: deny-external-egress}
spec:
  order: 500
  selector: environment == 'production'
  types: [Egress]
  egress:
  - action: Allow
    destination: {nets: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]}
  - action: Deny
`},
	{name: "namespace isolation", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: namespace-isolation}
spec:
  namespaceSelector: isolation == 'enabled'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    source: {namespaceSelector: all()}
  - action: Allow
    source: {namespaceSelector: name == 'monitoring'}
  egress:
  - action: Allow
    destination: {namespaceSelector: all()}
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
`, wantWarns: []string{noOrderWarning}},
	{name: "three-tier app, api tier", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: api-policy, namespace: backend}
spec:
  order: 100
  selector: tier == 'api'
  types: [Ingress, Egress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {namespaceSelector: name == 'frontend', selector: tier == 'frontend'}
    destination: {ports: [8080]}
  egress:
  - action: Allow
    protocol: TCP
    destination: {namespaceSelector: name == 'database', selector: tier == 'database', ports: [5432]}
  - action: Allow
    protocol: UDP
    destination: {namespaceSelector: name == 'kube-system', ports: [53]}
`},
	{name: "default deny", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: production}
spec:
  order: 1000
  selector: all()
  types: [Ingress, Egress]
`},
	{name: "audit all traffic", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: audit-all-traffic}
spec:
  order: 1
  selector: all()
  types: [Ingress, Egress]
  ingress: [{action: Log}, {action: Allow}]
  egress: [{action: Log}, {action: Allow}]
`},
	{name: "ingress from other namespaces, default types", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-tcp-6379, namespace: production}
spec:
  order: 30
  selector: color == 'red'
  ingress:
  - action: Allow
    protocol: TCP
    source: {selector: color == 'blue', namespaceSelector: shape == 'circle'}
    destination: {ports: [6379]}
`},
	{name: "with an explicit rollout", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: staged-deny, namespace: production}
spec:
  order: 40
  selector: app == 'web'
  ingress: [{action: Deny, protocol: TCP, destination: {ports: ["22"]}}]
  rollout:
    strategy: Progressive
    audit: {minDuration: 30m, maxDenials: 5}
    staged: {minDuration: 1h, canaryPercent: 25}
    rollback: {deniedPerMinute: 50}
`},
	// Rejected on purpose (section 0).
	{name: "domains are not supported yet", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-external-apis, namespace: backend}
spec:
  order: 100
  selector: app == 'payment-service'
  types: [Egress]
  egress:
  - action: Allow
    protocol: UDP
    destination: {ports: [53]}
  - action: Allow
    protocol: TCP
    destination:
      ports: [443]
      domains: [api.stripe.com, api.paypal.com]
`, wantErrs: []wantErr{forb("spec.egress[1].destination.domains", domainsDetail)}},
	{name: "application layer rules are rejected", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata: {name: allow-read-only, namespace: backend}
spec:
  order: 100
  selector: app == 'api'
  types: [Ingress]
  ingress:
  - action: Allow
    http: {methods: [GET, HEAD, OPTIONS]}
    source: {selector: role == 'reader'}
  - action: Allow
    http: {methods: [GET, HEAD, OPTIONS, POST, PUT, DELETE]}
    source: {selector: role == 'admin'}
`, wantErrs: []wantErr{forb("spec.ingress[0].http", httpDetail), forb("spec.ingress[1].http", httpDetail)}},
	{name: "lowercase protocol from a v1 manifest", manifest: `
apiVersion: policy.palisade.dev/v1alpha1
kind: GlobalNetworkPolicy
metadata: {name: allow-dns}
spec:
  order: 10
  egress: [{action: Allow, protocol: udp, destination: {ports: [53]}}]
`, wantErrs: []wantErr{inv("spec.egress[0].protocol", caseDetail)}},
}

func decodeScenario(t *testing.T, manifest string) any {
	t.Helper()
	var head struct{ Kind string }
	if err := yaml.Unmarshal([]byte(manifest), &head); err != nil {
		t.Fatalf("decoding kind: %v", err)
	}
	var obj any
	switch head.Kind {
	case "NetworkPolicy":
		obj = &v1alpha1.NetworkPolicy{}
	case "GlobalNetworkPolicy":
		obj = &v1alpha1.GlobalNetworkPolicy{}
	default:
		t.Fatalf("unexpected kind %q", head.Kind)
	}
	if err := yaml.UnmarshalStrict([]byte(manifest), obj); err != nil {
		t.Fatalf("decoding manifest: %v", err)
	}
	return obj
}

func validateAny(obj any) (field.ErrorList, []Warning) {
	switch o := obj.(type) {
	case *v1alpha1.NetworkPolicy:
		return ValidateNetworkPolicy(o)
	case *v1alpha1.GlobalNetworkPolicy:
		return ValidateGlobalNetworkPolicy(o)
	}
	return nil, nil
}

func defaultAny(obj any) {
	switch o := obj.(type) {
	case *v1alpha1.NetworkPolicy:
		defaulting.NetworkPolicy(o)
	case *v1alpha1.GlobalNetworkPolicy:
		defaulting.GlobalNetworkPolicy(o)
	}
}

// TestScenarios validates each manifest as written and again after defaulting: defaulting must not
// add errors, and the warnings stay the same (defaulted types follow the rule lists).
func TestScenarios(t *testing.T) {
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			obj := decodeScenario(t, sc.manifest)
			errs, warns := validateAny(obj)
			checkResult(t, errs, warns, sc.wantErrs, sc.wantWarns)
			defaultAny(obj)
			errs, warns = validateAny(obj)
			checkResult(t, errs, warns, sc.wantErrs, sc.wantWarns)
		})
	}
}
