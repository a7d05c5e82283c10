package clustercheck

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// dnsPort is the port a pod needs to reach to resolve names.
const dnsPort = 53

// governs returns the directions a Palisade policy governs: its types, or when they are empty the
// defaults the mutating webhook would have written (docs/semantics.md §2), for policies stored without it.
func governs(spec *v1alpha1.PolicySpec) (ingress, egress bool) {
	for _, t := range defaulting.PolicyTypes(spec) {
		switch t {
		case v1alpha1.PolicyTypeIngress:
			ingress = true
		case v1alpha1.PolicyTypeEgress:
			egress = true
		}
	}
	return ingress, egress
}

// namedPortProtocol returns the protocol whose named ports a rule's named port resolves against,
// as Felix builds named-port sets (docs/semantics.md §5.3): UDP and SCTP for those protocols, TCP for any
// other protocol, and any protocol ("") when the rule sets none.
func namedPortProtocol(r *v1alpha1.Rule) string {
	if r.Protocol == nil {
		return ""
	}
	n, err := r.Protocol.Number()
	switch {
	case err != nil:
		return string(corev1.ProtocolTCP)
	case n == 17:
		return string(corev1.ProtocolUDP)
	case n == 132:
		return string(corev1.ProtocolSCTP)
	}
	return string(corev1.ProtocolTCP)
}

// allowsDNS reports whether an egress rule could let a DNS query out: it allows (or passes, which
// in the default tier reaches the allowing profile), it is not restricted to a protocol other than
// UDP or TCP, and its destination ports, if any, could include 53. Named ports count as possibly
// 53, and where the rule's peers are is not considered: the question is whether some DNS path is
// left, and answering "yes" when unsure keeps the warning free of false alarms.
func allowsDNS(r *v1alpha1.Rule) bool {
	if r.Action != v1alpha1.Allow && r.Action != v1alpha1.Pass {
		return false
	}
	if r.Protocol != nil {
		n, err := r.Protocol.Number()
		if err != nil || (n != 6 && n != 17) {
			return false
		}
	}
	if r.ICMP != nil {
		return false
	}
	d := &r.Destination
	if len(d.Ports) > 0 && !portsMayInclude(d.Ports, dnsPort) {
		return false
	}
	for _, p := range d.NotPorts {
		if pr, err := p.Parse(); err == nil && pr.Contains(dnsPort) {
			return false
		}
	}
	return true
}

// portsMayInclude reports whether any of ports is, or might be (a named port), port n.
func portsMayInclude(ports []v1alpha1.Port, n uint16) bool {
	for _, p := range ports {
		pr, err := p.Parse()
		if err != nil {
			continue
		}
		if pr.IsNamed() || pr.Contains(n) {
			return true
		}
	}
	return false
}

// policyAllowsDNS reports whether any egress rule of a Palisade policy could allow DNS.
func policyAllowsDNS(spec *v1alpha1.PolicySpec) bool {
	for i := range spec.Egress {
		if allowsDNS(&spec.Egress[i]) {
			return true
		}
	}
	return false
}
