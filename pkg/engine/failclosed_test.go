package engine

import (
	"net/netip"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// TestInvalidRuleErrors pins the error the builder reports for each kind of input the engine
// cannot interpret; every such policy is still stored, failing closed.
func TestInvalidRuleErrors(t *testing.T) {
	const prefix = "policy NetworkPolicy/prod/p is invalid and fails closed: spec.ingress[0]"
	svc := func(r *v1alpha1.Rule) { r.Destination.Services = &v1alpha1.ServiceMatch{Namespace: "prod"} }
	http := func(r *v1alpha1.Rule) { r.HTTP = &v1alpha1.HTTPMatch{Methods: []string{"GET"}} }
	dom := func(r *v1alpha1.Rule) { r.Destination.Domains = []string{"example.com"} }
	codeOnly := func(r *v1alpha1.Rule) { c := 1; r.ICMP = &v1alpha1.ICMPFields{Code: &c} }
	tests := []struct {
		rule v1alpha1.Rule
		want string
	}{
		{rl(Allow, src(eSel("a = 'b'"))), `.source.selector: parsing selector: selector "a = 'b'": at position 2: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "="`},
		{rl("Reject"), `.action: "Reject" is not one of Allow, Deny, Log, Pass`},
		{rl(Allow, svc), `.destination.services.name: services must specify a service name`},
		{rl(Allow, http), `.http: HTTP rules are not supported`},
		{rl(Allow, dom), `.destination.domains: domains are not supported yet`},
		{rl(Allow, dst(ePorts("80"))), `: rules with numeric ports or port ranges must set protocol to TCP, UDP or SCTP`},
		{rl(Allow, proto("ICMP"), dst(ePorts("http"))), `: rules that specify ports must set protocol to TCP, UDP or SCTP`},
		{rl(Allow, src(eNets("10.0.0.0/33"))), `.source.nets[0]: parsing CIDR "10.0.0.0/33": netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
		{rl(Allow, proto("bogus")), `.protocol: protocol "bogus" is not one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or 1-255`},
		{rl(Allow, proto("0")), `.protocol: protocol number 0 is outside 1-255`},
		{rl(Allow, src(eNS("global() || a == 'b'"))), `.source.namespaceSelector: global() cannot be combined with other selectors`},
		{rl(Allow, codeOnly), `.icmp.code: ICMP code specified without an ICMP type`},
		{rl(Allow, ipv(5)), `.ipVersion: 5 is not 4 or 6`},
		{rl(Allow, icmpT(8)), `.icmp: ICMP fields require protocol to be ICMP or ICMPv6`},
		{rl(Allow, proto("TCP"), dst(ePorts("0:10"))), `.destination.ports[0]: port range 0:10 invalid, port number must be between 1 and 65535`},
		{rl(Allow, proto("TCP"), dst(ePorts("99999"))), `.destination.ports[0]: invalid port: 99999 is outside 0-65535`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			e := New()
			apply(t, e, baseCluster()...)
			err := e.UpsertNetworkPolicy(webPolicy(tc.rule), SlotEnforced)
			if err == nil || err.Error() != prefix+tc.want {
				t.Fatalf("error = %v\nwant %s", err, prefix+tc.want)
			}
			key := PolicyKey{Kind: KindNetworkPolicy, Namespace: "prod", Name: "p"}
			if got := e.PolicyError(key, SlotEnforced); got == nil || got.Error() != err.Error() {
				t.Errorf("PolicyError = %v", got)
			}
			// Stored, failing closed: the Allow rule never opens anything.
			v, _ := e.Evaluate(tcp(ipClient, ipWeb, 80), EnforcedOnly)
			want := lines("deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny InvalidPolicy default "+webP,
				"  default "+webP+" order=none enforced: Invalid error="+quote("spec.ingress[0]"+tc.want))
			if got := renderVerdict(v); got != want {
				t.Errorf("verdict\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func quote(s string) string { return `"` + escape(s) + `"` }

func escape(s string) string {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			out = append(out, '\\')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// TestFailClosedScope: an invalid policy that never had a valid generation keeps its position
// (earlier decisions stand), governs only its types, and fails closed only for the pods its
// subject selector can be read to select: an unparseable subject selector selects no pod.
func TestFailClosedScope(t *testing.T) {
	badRule := np("prod", "bad", onWeb, order(10), ingress(rl(Allow, src(eSel("a = 'b'")))))
	first := np("prod", "first", onWeb, order(5), ingress(rl(Allow, src(eSel("app == 'api'")))))
	badSelector := np("prod", "bad", sel("app == "), ingress(rl(Allow)))
	badEgressOnly := np("prod", "bad", onWeb, types(v1alpha1.PolicyTypeEgress), egress(rl(Allow, dst(eNets("x")))))
	badGNPNamespaces := gnpNS("bad", "env in", ingress(rl(Allow)))
	badKNP := knp("prod", "bad", podSel("app", "web"), knpIngress(from(peerIP("10.0.0.0/99"))))
	badType := np("prod", "bad", onWeb, types("Sideways"), ingress(rl(Allow)))
	invalid := func(pol string, err string) string {
		return "  default " + pol + ": Invalid error=" + quote(err)
	}
	const badP = "NetworkPolicy/prod/bad"
	tests := []struct {
		name string
		objs []any
		flow Flow
		want string
	}{
		{"an earlier policy's allow stands", []any{badRule, first}, tcp(ipAPI, ipWeb, 80), lines("allow",
			"egress prod/api: allow NoPolicyApplies",
			"ingress prod/web: allow Rule default NetworkPolicy/prod/first rule=0 Allow",
			"  default NetworkPolicy/prod/first order=5 enforced: Allow rule=0")},
		{"flows reaching the invalid policy are denied", []any{badRule, first}, tcp(ipClient, ipWeb, 80), lines("deny",
			"egress dev/client: allow NoPolicyApplies",
			"ingress prod/web: deny InvalidPolicy default "+badP,
			"  default NetworkPolicy/prod/first order=5 enforced: NoRuleMatched",
			invalid(badP+" order=10 enforced", `spec.ingress[0].source.selector: parsing selector: selector "a = 'b'": at position 2: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "="`))},
		{"an unparseable policy selector selects no pod", []any{badSelector}, tcp(ipClient, ipDB, 5432), noPolicies("dev/client", "prod/db")},
		{"an unparseable policy selector stays in its namespace", []any{badSelector}, tcp(ipWeb, ipClient, 80), noPolicies("prod/web", "dev/client")},
		{"an invalid policy governs only its types", []any{badEgressOnly}, tcp(ipClient, ipWeb, 80), noPolicies("dev/client", "prod/web")},
		{"an unknown type governs both directions", []any{badType}, tcp(ipWeb, ipExt, 80), lines("deny",
			"egress prod/web: deny InvalidPolicy default "+badP,
			invalid(badP+" order=none enforced", `spec.types[0]: "Sideways" is not Ingress or Egress`),
			"ingress -: allow NotAnEndpoint")},
		{"an unparseable GNP namespaceSelector selects no pod", []any{badGNPNamespaces}, tcp(ipWeb, ipMon, 80), noPolicies("prod/web", "ops/mon")},
		{"a KNP with a bad ipBlock denies instead of dropping the peer restriction", []any{badKNP}, tcp(ipClient, ipWeb, 80), lines("deny",
			"egress dev/client: allow NoPolicyApplies",
			"ingress prod/web: deny InvalidPolicy default KubernetesNetworkPolicy/prod/bad",
			invalid("KubernetesNetworkPolicy/prod/bad order=1000 enforced", `spec.ingress[0].from[0].ipBlock.cidr: parsing CIDR "10.0.0.0/99": netip.ParsePrefix("10.0.0.0/99"): prefix length out of range`))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := New()
			apply(t, e, baseCluster()...)
			for _, o := range tc.objs {
				_ = store(e, o)
			}
			v, err := e.Evaluate(tc.flow, EnforcedOnly)
			if err != nil {
				t.Fatal(err)
			}
			if got := renderVerdict(v); got != tc.want {
				t.Errorf("verdict\n--- got\n%s--- want\n%s", got, tc.want)
			}
		})
	}
}

// TestUpsertRejectsUnkeyedObjects: objects without a key are not stored at all.
func TestUpsertRejectsUnkeyedObjects(t *testing.T) {
	e := New()
	for name, err := range map[string]error{
		"np":        e.UpsertNetworkPolicy(np("", "p"), SlotEnforced),
		"np nil":    e.UpsertNetworkPolicy(nil, SlotEnforced),
		"gnp":       e.UpsertGlobalNetworkPolicy(gnp(""), SlotEnforced),
		"knp":       e.UpsertKubernetesNetworkPolicy(&networkingv1.NetworkPolicy{}, SlotEnforced),
		"knp nil":   e.UpsertKubernetesNetworkPolicy(nil, SlotEnforced),
		"slot":      e.UpsertNetworkPolicy(np("a", "p"), Slot(7)),
		"pod":       e.UpsertPod(Endpoint{Name: "x"}),
		"pod ip":    e.UpsertPod(Endpoint{Namespace: "a", Name: "x", IPs: make([]netip.Addr, 1)}),
		"namespace": e.UpsertNamespace(Namespace{}),
		"sa":        e.UpsertServiceAccount(ServiceAccount{Name: "x"}),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if len(e.policies) != 0 || len(e.pods) != 0 || len(e.namespaces) != 0 || len(e.serviceAccounts) != 0 {
		t.Errorf("something was stored: %d policies, %d pods", len(e.policies), len(e.pods))
	}
}
