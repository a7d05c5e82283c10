package engine_test

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKNPE2EScenarios loads the fixed e2e cluster plus each scenario's
// Kubernetes NetworkPolicies and compares the whole reachability matrix of
// every probed port with the hand-written truth table. Policies are loaded
// in the written order and reversed, which must not change any verdict.
func TestKNPE2EScenarios(t *testing.T) {
	for _, sc := range knpE2EScenarios {
		t.Run(sc.name, func(t *testing.T) {
			for _, reversed := range []bool{false, true} {
				e := knpE2EEngine(t, sc.policies, reversed)
				for _, pr := range sc.probes {
					want := parseMatrix(t, pr.want)
					got := reachability(t, e, pr.port, pr.proto)
					if got != want {
						t.Errorf("%d/%s (policies reversed: %v): reachability differs\nwant:\n%s\ngot:\n%s",
							pr.port, pr.proto, reversed, want, got)
					}
				}
			}
		})
	}
}

// knpE2EScenarios are modelled on the upstream Kubernetes network-policy e2e
// suite (k8s.io/kubernetes test/e2e/network/netpol): namespaces x, y, z with
// pods a, b, c each, probed on ports 80/81 over TCP, UDP and SCTP. Every
// expectation is a whole reachability matrix written by hand from the
// Kubernetes semantics (rows = client, columns = server, "." = connected,
// "X" = blocked), like the e2e's printed truth tables. The diagonal is the
// policy verdict for a pod reaching its own IP.
var knpE2EScenarios = []knpScenario{
	{
		name:   "no policies: everything connects",
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: allConnected}},
	},
	{
		name: "default-deny-ingress in x",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny-ingress", ingressTypes()),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  X   X   X   .   .   .   .   .   .
x/b  X   X   X   .   .   .   .   .   .
x/c  X   X   X   .   .   .   .   .   .
y/a  X   X   X   .   .   .   .   .   .
y/b  X   X   X   .   .   .   .   .   .
y/c  X   X   X   .   .   .   .   .   .
z/a  X   X   X   .   .   .   .   .   .
z/b  X   X   X   .   .   .   .   .   .
z/c  X   X   X   .   .   .   .   .   .
`}},
	},
	{
		name: "default-deny-all in x (ingress and egress)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny-all", ingressTypes(), egressTypes()),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  X   X   X   X   X   X   X   X   X
x/b  X   X   X   X   X   X   X   X   X
x/c  X   X   X   X   X   X   X   X   X
y/a  X   X   X   .   .   .   .   .   .
y/b  X   X   X   .   .   .   .   .   .
y/c  X   X   X   .   .   .   .   .   .
z/a  X   X   X   .   .   .   .   .   .
z/b  X   X   X   .   .   .   .   .   .
z/c  X   X   X   .   .   .   .   .   .
`}},
	},
	{
		name: "allow ingress from the same namespace",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "allow-same-ns", from(peer(pods(), nil))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  .   .   .   .   .   .   .   .   .
x/b  .   .   .   .   .   .   .   .   .
x/c  .   .   .   .   .   .   .   .   .
y/a  X   X   X   .   .   .   .   .   .
y/b  X   X   X   .   .   .   .   .   .
y/c  X   X   X   .   .   .   .   .   .
z/a  X   X   X   .   .   .   .   .   .
z/b  X   X   X   .   .   .   .   .   .
z/c  X   X   X   .   .   .   .   .   .
`}},
	},
	{
		name: "allow ingress to x/a from pod b of its namespace (podSelector)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "allow-x-b", selecting("pod", "a"), from(peer(pods("pod", "b"), nil))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "x/b")}},
	},
	{
		name: "allow ingress to x/a from namespace y by label",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "allow-ns-y", selecting("pod", "a"), from(peer(nil, nss("ns", "y")))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "y/a", "y/b", "y/c")}},
	},
	{
		name: "allow ingress from namespace y by the default kubernetes.io/metadata.name label",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "allow-ns-y", selecting("pod", "a"), from(peer(nil, nss(corev1.LabelMetadataName, "y")))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "y/a", "y/b", "y/c")}},
	},
	{
		name: "pod and namespace selector in one peer are ANDed",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "and", selecting("pod", "a"), from(peer(pods("pod", "b"), nss("ns", "y")))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "y/b")}},
	},
	{
		name: "pod and namespace selector in two peers are ORed",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "or", selecting("pod", "a"), from(peer(pods("pod", "b"), nil), peer(nil, nss("ns", "y")))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "x/b", "y/a", "y/b", "y/c")}},
	},
	{
		name: "podSelector with matchExpressions",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "expr", selecting("pod", "a"), from(peer(&metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "pod", Operator: metav1.LabelSelectorOpIn, Values: []string{"b", "c"}}},
			}, nil))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "x/b", "x/c")}},
	},
	{
		name: "namespaceSelector with matchExpressions NotIn",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "expr", selecting("pod", "a"), from(peer(nil, &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "ns", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x", "y"}}},
			}))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "z/a", "z/b", "z/c")}},
	},
	{
		name: "pods labelled c in any namespace (podSelector with empty namespaceSelector)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "any-ns-c", selecting("pod", "a"), from(peer(pods("pod", "c"), nss()))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "x/c", "y/c", "z/c")}},
	},
	{
		name: "allow ingress from all namespaces (empty namespaceSelector)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny", ingressTypes()),
			knp("x", "all-ns", selecting("pod", "a"), from(peer(nil, nss()))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  .   X   X   .   .   .   .   .   .
x/b  .   X   X   .   .   .   .   .   .
x/c  .   X   X   .   .   .   .   .   .
y/a  .   X   X   .   .   .   .   .   .
y/b  .   X   X   .   .   .   .   .   .
y/c  .   X   X   .   .   .   .   .   .
z/a  .   X   X   .   .   .   .   .   .
z/b  .   X   X   .   .   .   .   .   .
z/c  .   X   X   .   .   .   .   .   .
`}},
	},
	{
		name: "ingress only on port 81",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "port-81", selecting("pod", "a"), ingressRule(nil, tcp(81))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a")},
			{port: 81, proto: corev1.ProtocolTCP, want: allConnected},
			{port: 81, proto: corev1.ProtocolUDP, want: colOnly("x/a")},
		},
	},
	{
		name: "stacked policies on one pod are a union (80 from y, 81 from z)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "y-80", selecting("pod", "a"), ingressRule([]networkingv1.NetworkPolicyPeer{peer(nil, nss("ns", "y"))}, tcp(80))),
			knp("x", "z-81", selecting("pod", "a"), ingressRule([]networkingv1.NetworkPolicyPeer{peer(nil, nss("ns", "z"))}, tcp(81))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a", "y/a", "y/b", "y/c")},
			{port: 81, proto: corev1.ProtocolTCP, want: colOnly("x/a", "z/a", "z/b", "z/c")},
		},
	},
	{
		name: "ingress on a named TCP port",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "named", selecting("pod", "a"), ingressRule(nil, namedPort("serve-81-tcp", ""))),
		},
		probes: []knpProbe{
			{port: 81, proto: corev1.ProtocolTCP, want: allConnected},
			{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a")},
			// The name belongs to the TCP port: UDP 81 is not it.
			{port: 81, proto: corev1.ProtocolUDP, want: colOnly("x/a")},
		},
	},
	{
		name: "ingress from namespace y on a named UDP port",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "named-udp", selecting("pod", "a"), ingressRule([]networkingv1.NetworkPolicyPeer{peer(nil, nss("ns", "y"))}, namedPort("serve-80-udp", corev1.ProtocolUDP))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolUDP, want: colOnly("x/a", "y/a", "y/b", "y/c")},
			{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a")},
		},
	},
	{
		name: "egress on a named port resolves against each destination pod",
		// "http" is 80/TCP on the pods of x and y but 81/TCP on those of z.
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "egress-http", selecting("pod", "a"), egressTypes(), egressRule(nil, namedPort("http", ""))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: rowOnly("x/a", "x/a", "x/b", "x/c", "y/a", "y/b", "y/c")},
			{port: 81, proto: corev1.ProtocolTCP, want: rowOnly("x/a", "z/a", "z/b", "z/c")},
		},
	},
	{
		name: "ingress on a port range (endPort)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "range", selecting("pod", "a"), ingressRule(nil, portRange(corev1.ProtocolTCP, 81, 90))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a")},
			{port: 81, proto: corev1.ProtocolTCP, want: allConnected},
			{port: 81, proto: corev1.ProtocolUDP, want: colOnly("x/a")},
		},
	},
	{
		name: "SCTP is not TCP",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "sctp", selecting("pod", "a"), ingressRule(nil, port(corev1.ProtocolSCTP, 80))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolSCTP, want: allConnected},
			{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a")},
			{port: 80, proto: corev1.ProtocolUDP, want: colOnly("x/a")},
		},
	},
	{
		name: "a port entry with only a protocol allows every port of that protocol",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "udp", selecting("pod", "a"), ingressRule(nil, networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolUDP)})),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolUDP, want: allConnected},
			{port: 81, proto: corev1.ProtocolUDP, want: allConnected},
			{port: 81, proto: corev1.ProtocolTCP, want: colOnly("x/a")},
		},
	},
	{
		name: "egress deny-all in x",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny-egress", egressTypes()),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: rowsDenied("x/a", "x/b", "x/c")},
			{port: 53, proto: corev1.ProtocolUDP, want: rowsDenied("x/a", "x/b", "x/c")},
		},
	},
	{
		name: "egress deny-all in x, DNS allowed to namespace z only",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny-egress", egressTypes()),
			knp("x", "allow-dns", egressTypes(), egressRule([]networkingv1.NetworkPolicyPeer{peer(nil, nss("ns", "z"))}, port(corev1.ProtocolUDP, 53), port(corev1.ProtocolTCP, 53))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: rowsDenied("x/a", "x/b", "x/c")},
			{port: 53, proto: corev1.ProtocolUDP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  X   X   X   X   X   X   .   .   .
x/b  X   X   X   X   X   X   .   .   .
x/c  X   X   X   X   X   X   .   .   .
y/a  .   .   .   .   .   .   .   .   .
y/b  .   .   .   .   .   .   .   .   .
y/c  .   .   .   .   .   .   .   .   .
z/a  .   .   .   .   .   .   .   .   .
z/b  .   .   .   .   .   .   .   .   .
z/c  .   .   .   .   .   .   .   .   .
`},
		},
	},
	{
		name: "egress: [] without policyTypes is ingress-only",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "no-types", selecting("pod", "a"), func(np *networkingv1.NetworkPolicy) {
				np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
			}),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("x/a")}},
	},
	{
		name: "egress rules without policyTypes make the policy govern both directions",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "no-types", selecting("pod", "a"), egressRule([]networkingv1.NetworkPolicyPeer{peer(nil, nss("ns", "y"))})),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  X   X   X   .   .   .   X   X   X
x/b  X   .   .   .   .   .   .   .   .
x/c  X   .   .   .   .   .   .   .   .
y/a  X   .   .   .   .   .   .   .   .
y/b  X   .   .   .   .   .   .   .   .
y/c  X   .   .   .   .   .   .   .   .
z/a  X   .   .   .   .   .   .   .   .
z/b  X   .   .   .   .   .   .   .   .
z/c  X   .   .   .   .   .   .   .   .
`}},
	},
	{
		name: "policyTypes [Egress] ignores the ingress rules",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "egress-only", selecting("pod", "a"), egressTypes(),
				from(peer(pods("pod", "b"), nil)),
				egressRule([]networkingv1.NetworkPolicyPeer{peer(pods("pod", "b"), nil)})),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: rowOnly("x/a", "x/b")}},
	},
	{
		name: "ingress and egress of one pod controlled independently",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "both", selecting("pod", "a"), ingressTypes(), egressTypes(),
				from(peer(pods("pod", "b"), nil)),
				egressRule([]networkingv1.NetworkPolicyPeer{peer(pods("pod", "c"), nil)})),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  X   X   .   X   X   X   X   X   X
x/b  .   .   .   .   .   .   .   .   .
x/c  X   .   .   .   .   .   .   .   .
y/a  X   .   .   .   .   .   .   .   .
y/b  X   .   .   .   .   .   .   .   .
y/c  X   .   .   .   .   .   .   .   .
z/a  X   .   .   .   .   .   .   .   .
z/b  X   .   .   .   .   .   .   .   .
z/c  X   .   .   .   .   .   .   .   .
`}},
	},
	{
		name: "client egress deny wins over a server that allows everything",
		policies: []*networkingv1.NetworkPolicy{
			knp("y", "allow-all-in", ingressRule(nil)),
			knp("x", "deny-a-out", selecting("pod", "a"), egressTypes()),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: rowsDenied("x/a")}},
	},
	{
		name: "an allow-all ingress policy wins over a deny-all one",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny", ingressTypes()),
			knp("x", "allow-all", ingressRule(nil)),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: allConnected}},
	},
	{
		name: "an allow-all egress policy wins over a deny-all one",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "deny", egressTypes()),
			knp("x", "allow-all", egressTypes(), egressRule(nil)),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: allConnected}},
	},
	{
		name: "egress to an ipBlock with except (all pods but namespace y)",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "cidr", selecting("pod", "a"), egressTypes(),
				egressRule([]networkingv1.NetworkPolicyPeer{ipBlock("192.168.0.0/16", "192.168.2.0/24")})),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: rowOnly("x/a", "x/a", "x/b", "x/c", "z/a", "z/b", "z/c")}},
	},
	{
		name: "an IP in one ipBlock's except but in another ipBlock is allowed",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "cidr", selecting("pod", "a"), egressTypes(),
				egressRule([]networkingv1.NetworkPolicyPeer{
					ipBlock("192.168.1.0/24", "192.168.1.11/32"), // x/b excepted here
					ipBlock("192.168.1.11/32"),                   // but allowed here
				})),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: rowOnly("x/a", "x/a", "x/b", "x/c")}},
	},
	{
		name: "ingress from an ipBlock matches pod IPs (Calico semantics)",
		policies: []*networkingv1.NetworkPolicy{
			knp("y", "from-cidr", selecting("pod", "b"), from(ipBlock("192.168.1.0/24", "192.168.1.12/32"))),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: colOnly("y/b", "x/a", "x/b")}},
	},
	{
		name: "egress to a pod in another namespace by pod and namespace selector",
		policies: []*networkingv1.NetworkPolicy{
			knp("x", "to-y-b", selecting("pod", "a"), egressTypes(),
				egressRule([]networkingv1.NetworkPolicyPeer{peer(pods("pod", "b"), nss("ns", "y"))}, tcp(80))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: rowOnly("x/a", "y/b")},
			{port: 81, proto: corev1.ProtocolTCP, want: rowOnly("x/a")},
		},
	},
	{
		name: "a rule with ports but no from allows every source on those ports",
		policies: []*networkingv1.NetworkPolicy{
			knp("z", "ports-only", ingressRule(nil, tcp(80), port(corev1.ProtocolUDP, 81))),
		},
		probes: []knpProbe{
			{port: 80, proto: corev1.ProtocolTCP, want: allConnected},
			{port: 81, proto: corev1.ProtocolUDP, want: allConnected},
			{port: 81, proto: corev1.ProtocolTCP, want: colsDenied("z/a", "z/b", "z/c")},
			{port: 80, proto: corev1.ProtocolUDP, want: colsDenied("z/a", "z/b", "z/c")},
		},
	},
	{
		name: "a policy in one namespace never selects pods of another",
		policies: []*networkingv1.NetworkPolicy{
			knp("y", "deny-a", selecting("pod", "a"), ingressTypes(), egressTypes()),
		},
		probes: []knpProbe{{port: 80, proto: corev1.ProtocolTCP, want: `
    x/a x/b x/c y/a y/b y/c z/a z/b z/c
x/a  .   .   .   X   .   .   .   .   .
x/b  .   .   .   X   .   .   .   .   .
x/c  .   .   .   X   .   .   .   .   .
y/a  X   X   X   X   X   X   X   X   X
y/b  .   .   .   X   .   .   .   .   .
y/c  .   .   .   X   .   .   .   .   .
z/a  .   .   .   X   .   .   .   .   .
z/b  .   .   .   X   .   .   .   .   .
z/c  .   .   .   X   .   .   .   .   .
`}},
	},
}
