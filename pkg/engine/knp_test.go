package engine

import (
	"encoding/json"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestKubernetesNetworkPolicySpec pins the conversion (docs/semantics.md §7.2) as a whole JSON
// document: selector rendering, one Allow rule per protocol x peer, protocol groups in sorted
// order, port merging, ipBlock masking, {} namespace selector as all(), and an empty rule.
func TestKubernetesNetworkPolicySpec(t *testing.T) {
	p := knp("prod", "k", metav1.LabelSelector{
		MatchLabels: map[string]string{"tier": "x", "role": "db"},
		MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "env", Operator: metav1.LabelSelectorOpIn, Values: []string{"a", "b"}},
			{Key: "k", Operator: metav1.LabelSelectorOpDoesNotExist},
		},
	},
		knpIngress(
			from(
				peerPodsInNS([]string{"podA", "B", "podC", "D"}, []string{"namespaceFoo", "bar", "namespaceRole", "dev"}),
				peerIP("10.0.0.1/16", "10.0.1.0/24"),
				kport("TCP", 80), kport("", 81), kport("TCP", 82), kport("UDP", 53), kport("TCP", "http"), kport("SCTP", 9000, 9010),
			),
			from(),
		),
		knpEgress(to(peerNS(), kport("UDP", nil), kport("UDP", 53))),
		knpTypes(networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress),
	)
	spec, err := KubernetesNetworkPolicySpec(p)
	if err != nil {
		t.Fatalf("KubernetesNetworkPolicySpec: %v", err)
	}
	got, err := json.MarshalIndent(spec, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	const want = `{
  "tier": "default",
  "order": 1000,
  "ingress": [
    {
      "action": "Allow",
      "protocol": "SCTP",
      "source": {
        "selector": "projectcalico.org/orchestrator == 'k8s' \u0026\u0026 podA == 'B' \u0026\u0026 podC == 'D'",
        "namespaceSelector": "namespaceFoo == 'bar' \u0026\u0026 namespaceRole == 'dev'"
      },
      "destination": {
        "ports": [
          "9000:9010"
        ]
      }
    },
    {
      "action": "Allow",
      "protocol": "SCTP",
      "source": {
        "nets": [
          "10.0.0.0/16"
        ],
        "notNets": [
          "10.0.1.0/24"
        ]
      },
      "destination": {
        "ports": [
          "9000:9010"
        ]
      }
    },
    {
      "action": "Allow",
      "protocol": "TCP",
      "source": {
        "selector": "projectcalico.org/orchestrator == 'k8s' \u0026\u0026 podA == 'B' \u0026\u0026 podC == 'D'",
        "namespaceSelector": "namespaceFoo == 'bar' \u0026\u0026 namespaceRole == 'dev'"
      },
      "destination": {
        "ports": [
          "http",
          "80:82"
        ]
      }
    },
    {
      "action": "Allow",
      "protocol": "TCP",
      "source": {
        "nets": [
          "10.0.0.0/16"
        ],
        "notNets": [
          "10.0.1.0/24"
        ]
      },
      "destination": {
        "ports": [
          "http",
          "80:82"
        ]
      }
    },
    {
      "action": "Allow",
      "protocol": "UDP",
      "source": {
        "selector": "projectcalico.org/orchestrator == 'k8s' \u0026\u0026 podA == 'B' \u0026\u0026 podC == 'D'",
        "namespaceSelector": "namespaceFoo == 'bar' \u0026\u0026 namespaceRole == 'dev'"
      },
      "destination": {
        "ports": [
          53
        ]
      }
    },
    {
      "action": "Allow",
      "protocol": "UDP",
      "source": {
        "nets": [
          "10.0.0.0/16"
        ],
        "notNets": [
          "10.0.1.0/24"
        ]
      },
      "destination": {
        "ports": [
          53
        ]
      }
    },
    {
      "action": "Allow"
    }
  ],
  "egress": [
    {
      "action": "Allow",
      "protocol": "UDP",
      "destination": {
        "selector": "projectcalico.org/orchestrator == 'k8s'",
        "namespaceSelector": "all()"
      }
    }
  ],
  "selector": "projectcalico.org/orchestrator == 'k8s' \u0026\u0026 role == 'db' \u0026\u0026 tier == 'x' \u0026\u0026 env in { 'a', 'b' } \u0026\u0026 ! has(k)",
  "types": [
    "Ingress",
    "Egress"
  ]
}`
	if string(got) != want {
		t.Errorf("converted spec differs\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestKubernetesNetworkPolicySharpEdges covers docs/semantics.md §7.3 on the base cluster.
func TestKubernetesNetworkPolicySharpEdges(t *testing.T) {
	const kP = "KubernetesNetworkPolicy/prod/k"
	webKNP := func(tweaks ...func(*networkingv1.NetworkPolicySpec)) *networkingv1.NetworkPolicy {
		return knp("prod", "k", podSel("app", "web"), tweaks...)
	}
	allowedBy := func(srcPod, dstPod string, rule int) string {
		return lines("allow",
			"egress "+srcPod+": allow "+map[bool]string{true: "NotAnEndpoint", false: "NoPolicyApplies"}[srcPod == "-"],
			"ingress "+dstPod+": allow Rule default "+kP+" rule="+string(rune('0'+rule))+" Allow",
			"  default "+kP+" order=1000 enforced: Allow rule="+string(rune('0'+rule)))
	}
	deniedBy := func(srcPod, dstPod string) string {
		return lines("deny",
			"egress "+srcPod+": allow "+map[bool]string{true: "NotAnEndpoint", false: "NoPolicyApplies"}[srcPod == "-"],
			"ingress "+dstPod+": deny EndOfTierDeny default",
			"  default "+kP+" order=1000 enforced: NoRuleMatched")
	}
	other := pod("dev", "other", "10.0.1.2", map[string]string{"app": "other"})
	and := webKNP(knpIngress(from(peerPodsInNS([]string{"app", "client"}, []string{"env", "dev"}))))
	or := webKNP(knpIngress(from(peerPods("app", "client"), peerNS("env", "dev"))))
	allNS := webKNP(knpIngress(from(peerNS())))
	ownNS := webKNP(knpIngress(from(peerPods())))
	ipBlock := webKNP(knpIngress(from(peerIP("10.0.0.0/16", "10.0.1.0/24"))))
	endPort := webKNP(knpIngress(from(kport("TCP", 8000, 8100))))
	namedIn := webKNP(knpIngress(from(kport("TCP", "http"))), knpIngress(from(kport("UDP", "dns"))))
	allUDP := webKNP(knpIngress(from(kport("UDP", nil))))
	clientOut := func(peer networkingv1.NetworkPolicyPeer) *networkingv1.NetworkPolicy {
		return knp("dev", "out", podSel("app", "client"), knpTypes(networkingv1.PolicyTypeEgress),
			knpEgress(to(peer, kport("TCP", "http"))))
	}
	const outP = "KubernetesNetworkPolicy/dev/out"
	egressAllowed := func(dstPod string) string {
		return lines("allow",
			"egress dev/client: allow Rule default "+outP+" rule=0 Allow",
			"  default "+outP+" order=1000 enforced: Allow rule=0",
			"ingress "+dstPod+": allow "+map[bool]string{true: "NotAnEndpoint", false: "NoPolicyApplies"}[dstPod == "-"])
	}
	egressDenied := func(dstPod string) string {
		return lines("deny",
			"egress dev/client: deny EndOfTierDeny default",
			"  default "+outP+" order=1000 enforced: NoRuleMatched",
			"ingress "+dstPod+": allow "+map[bool]string{true: "NotAnEndpoint", false: "NoPolicyApplies"}[dstPod == "-"])
	}
	runScenarios(t, []scenario{
		{name: "egress: [] without policyTypes is ingress-only", objs: []any{
			knp("dev", "k", podSel("app", "client"), knpEgress())},
			flow: tcp(ipClient, ipWeb, 80), want: noPolicies("dev/client", "prod/web")},
		{name: "policyTypes [Egress] with no rules denies egress", objs: []any{
			knp("dev", "k", podSel("app", "client"), knpTypes(networkingv1.PolicyTypeEgress))},
			flow: tcp(ipClient, ipWeb, 80), want: lines("deny",
				"egress dev/client: deny EndOfTierDeny default",
				"  default KubernetesNetworkPolicy/dev/k order=1000 enforced: NoRuleMatched",
				"ingress prod/web: allow NoPolicyApplies")},
		{name: "egress rules without policyTypes default to Ingress+Egress", objs: []any{
			knp("dev", "k", podSel("app", "client"), knpEgress(to(peerNS("env", "dev"))))},
			flow: tcp(ipClient, ipWeb, 80), want: lines("deny",
				"egress dev/client: deny EndOfTierDeny default",
				"  default KubernetesNetworkPolicy/dev/k order=1000 enforced: NoRuleMatched",
				"ingress prod/web: allow NoPolicyApplies")},
		{name: "podSelector and namespaceSelector in one peer: AND (match)", objs: []any{and, other},
			flow: tcp(ipClient, ipWeb, 80), want: allowedBy("dev/client", "prod/web", 0)},
		{name: "podSelector and namespaceSelector in one peer: AND (right ns, wrong pod)", objs: []any{and, other},
			flow: tcp("10.0.1.2", ipWeb, 80), want: deniedBy("dev/other", "prod/web")},
		{name: "separate peers: OR (namespace peer admits any pod of dev)", objs: []any{or, other},
			flow: tcp("10.0.1.2", ipWeb, 80), want: allowedBy("dev/other", "prod/web", 0)},
		{name: "separate peers: OR (pod peer is scoped to the policy namespace)", objs: []any{or, other},
			flow: tcp(ipMon, ipWeb, 80), want: deniedBy("ops/mon", "prod/web")},
		{name: "namespaceSelector {} is every namespace", objs: []any{allNS},
			flow: tcp(ipMon, ipWeb, 80), want: allowedBy("ops/mon", "prod/web", 0)},
		{name: "namespaceSelector {} still only matches pods", objs: []any{allNS},
			flow: tcp(ipExt, ipWeb, 80), want: deniedBy("-", "prod/web")},
		{name: "namespaceSelector omitted is the policy's namespace (other ns)", objs: []any{ownNS},
			flow: tcp(ipMon, ipWeb, 80), want: deniedBy("ops/mon", "prod/web")},
		{name: "namespaceSelector omitted is the policy's namespace (same ns)", objs: []any{ownNS},
			flow: tcp(ipAPI, ipWeb, 80), want: allowedBy("prod/api", "prod/web", 0)},
		{name: "ipBlock matches pod IPs too", objs: []any{ipBlock},
			flow: tcp(ipMon, ipWeb, 80), want: allowedBy("ops/mon", "prod/web", 0)},
		{name: "ipBlock except", objs: []any{ipBlock},
			flow: tcp(ipClient, ipWeb, 80), want: deniedBy("dev/client", "prod/web")},
		{name: "ipBlock outside the CIDR", objs: []any{ipBlock},
			flow: tcp(ipExt, ipWeb, 80), want: deniedBy("-", "prod/web")},
		{name: "ipBlock v4 never matches IPv6", objs: []any{ipBlock},
			flow: tcp(ipClient6, ipWeb6, 80), want: deniedBy("dev/client", "prod/web")},
		{name: "endPort range (inside)", objs: []any{endPort},
			flow: tcp(ipClient, ipWeb, 8100), want: allowedBy("dev/client", "prod/web", 0)},
		{name: "endPort range (outside)", objs: []any{endPort},
			flow: tcp(ipClient, ipWeb, 8101), want: deniedBy("dev/client", "prod/web")},
		{name: "endPort range is TCP only", objs: []any{endPort},
			flow: udp(ipClient, ipWeb, 8080), want: deniedBy("dev/client", "prod/web")},
		{name: "port without number: every port of the protocol", objs: []any{allUDP},
			flow: udp(ipClient, ipWeb, 12345), want: allowedBy("dev/client", "prod/web", 0)},
		{name: "port without number: other protocols denied", objs: []any{allUDP},
			flow: tcp(ipClient, ipWeb, 12345), want: deniedBy("dev/client", "prod/web")},
		{name: "ingress named port resolves on the destination pod", objs: []any{namedIn},
			flow: tcp(ipClient, ipWeb, 8080), want: allowedBy("dev/client", "prod/web", 0)},
		{name: "ingress named port on UDP, trace shows the k8s rule index", objs: []any{namedIn},
			flow: udp(ipClient, ipWeb, 53), want: allowedBy("dev/client", "prod/web", 1)},
		{name: "ingress named port: number of another pod's port", objs: []any{namedIn},
			flow: tcp(ipClient, ipWeb, 9090), want: deniedBy("dev/client", "prod/web")},
		{name: "egress named port resolves on the selected peers", objs: []any{clientOut(peerNS())},
			flow: tcp(ipClient, ipAPI, 9090), want: egressAllowed("prod/api")},
		{name: "egress named port: peer without that port number", objs: []any{clientOut(peerNS())},
			flow: tcp(ipClient, ipWeb, 9090), want: egressDenied("prod/web")},
		{name: "egress named port with ipBlock: any endpoint's port", objs: []any{clientOut(peerIP("0.0.0.0/0"))},
			flow: tcp(ipClient, ipWeb, 8080), want: egressAllowed("prod/web")},
		{name: "egress named port with ipBlock: outside addresses have no named ports", objs: []any{clientOut(peerIP("0.0.0.0/0"))},
			flow: tcp(ipClient, ipExt, 8080), want: egressDenied("-")},
		{name: "KNPs are a union", objs: []any{
			knp("prod", "k1", podSel("app", "web"), knpIngress(from(peerPods("app", "api")))),
			knp("prod", "k2", podSel("app", "web"), knpIngress(from(peerNS("env", "dev")))),
		},
			flow: tcp(ipClient, ipWeb, 80), want: lines("allow",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: allow Rule default KubernetesNetworkPolicy/prod/k2 rule=0 Allow",
				"  default KubernetesNetworkPolicy/prod/k1 order=1000 enforced: NoRuleMatched",
				"  default KubernetesNetworkPolicy/prod/k2 order=1000 enforced: Allow rule=0")},
		{name: "a Calico NP at a lower order pre-empts a KNP", objs: []any{
			webKNP(knpIngress(from())),
			np("prod", "first", onWeb, order(100), ingress(rl(Deny, src(eNS("env == 'dev'"))))),
		},
			flow: tcp(ipClient, ipWeb, 80), want: lines("deny",
				"egress dev/client: allow NoPolicyApplies",
				"ingress prod/web: deny Rule default NetworkPolicy/prod/first rule=0 Deny",
				"  default NetworkPolicy/prod/first order=100 enforced: Deny rule=0")},
		{name: "a Calico NP without order runs after KNPs", objs: []any{
			webKNP(knpIngress(from())),
			np("prod", "after", onWeb, ingress(rl(Deny))),
		},
			flow: tcp(ipClient, ipWeb, 80), want: allowedBy("dev/client", "prod/web", 0)},
	})
}
