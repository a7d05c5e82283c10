package engine

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func knp(ns, name string, podSelector metav1.LabelSelector, tweaks ...func(*networkingv1.NetworkPolicySpec)) *networkingv1.NetworkPolicy {
	p := &networkingv1.NetworkPolicy{}
	p.Namespace, p.Name = ns, name
	p.Spec.PodSelector = podSelector
	for _, t := range tweaks {
		t(&p.Spec)
	}
	return p
}

func labelSel(kv ...string) *metav1.LabelSelector {
	s := &metav1.LabelSelector{}
	for i := 0; i+1 < len(kv); i += 2 {
		if s.MatchLabels == nil {
			s.MatchLabels = map[string]string{}
		}
		s.MatchLabels[kv[i]] = kv[i+1]
	}
	return s
}

func podSel(kv ...string) metav1.LabelSelector { return *labelSel(kv...) }

func knpTypes(ts ...networkingv1.PolicyType) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) { s.PolicyTypes = ts }
}

func knpIngress(rs ...networkingv1.NetworkPolicyIngressRule) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		if s.Ingress == nil {
			s.Ingress = []networkingv1.NetworkPolicyIngressRule{}
		}
		s.Ingress = append(s.Ingress, rs...)
	}
}

func knpEgress(rs ...networkingv1.NetworkPolicyEgressRule) func(*networkingv1.NetworkPolicySpec) {
	return func(s *networkingv1.NetworkPolicySpec) {
		if s.Egress == nil {
			s.Egress = []networkingv1.NetworkPolicyEgressRule{}
		}
		s.Egress = append(s.Egress, rs...)
	}
}

func splitPeersPorts(items []any) ([]networkingv1.NetworkPolicyPeer, []networkingv1.NetworkPolicyPort) {
	var peers []networkingv1.NetworkPolicyPeer
	var ports []networkingv1.NetworkPolicyPort
	for _, it := range items {
		switch x := it.(type) {
		case networkingv1.NetworkPolicyPeer:
			peers = append(peers, x)
		case networkingv1.NetworkPolicyPort:
			ports = append(ports, x)
		default:
			panic(fmt.Sprintf("unexpected %T", it))
		}
	}
	return peers, ports
}

// from builds an ingress rule from peers and ports.
func from(items ...any) networkingv1.NetworkPolicyIngressRule {
	peers, ports := splitPeersPorts(items)
	return networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports}
}

// to builds an egress rule from peers and ports.
func to(items ...any) networkingv1.NetworkPolicyEgressRule {
	peers, ports := splitPeersPorts(items)
	return networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports}
}

func peerPods(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: labelSel(kv...)}
}

func peerNS(kv ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: labelSel(kv...)}
}

func peerPodsInNS(pod, ns []string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: labelSel(pod...), NamespaceSelector: labelSel(ns...)}
}

func peerIP(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

// kport builds a port: protocol "" leaves it nil (the API default TCP applies); port is an int,
// a string name, or nil for every port.
func kport(protocol string, port any, endPort ...int32) networkingv1.NetworkPolicyPort {
	var p networkingv1.NetworkPolicyPort
	if protocol != "" {
		pr := corev1.Protocol(protocol)
		p.Protocol = &pr
	}
	switch x := port.(type) {
	case int:
		v := intstr.FromInt32(int32(x))
		p.Port = &v
	case string:
		v := intstr.FromString(x)
		p.Port = &v
	}
	if len(endPort) > 0 {
		p.EndPort = &endPort[0]
	}
	return p
}
