package convert

import (
	"fmt"
	"net"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// kubernetesOrder is the order Calico gives every Kubernetes NetworkPolicy.
const kubernetesOrder = 1000.0

// kubernetesSpec translates a Kubernetes NetworkPolicy spec into a Palisade spec the way Calico's
// K8sNetworkPolicyToCalico does (docs/policy-semantics.md 7.2), without the orchestrator clause.
// Where Calico silently drops a rule it cannot convert, this reports an error: dropping an Allow
// rule of a staged policy would make its would-deny counts lie.
func kubernetesSpec(in stagedKNPSpec, p *problems) v1alpha1.NetworkPolicySpec {
	order := kubernetesOrder
	var spec v1alpha1.NetworkPolicySpec
	spec.Order = &order
	spec.Selector = labelSelector(&in.PodSelector, "spec.podSelector", p)
	if spec.Selector == "" {
		spec.Selector = "all()"
	}
	for i, r := range in.Ingress {
		spec.Ingress = append(spec.Ingress, kubernetesRule(r.From, r.Ports, true, fmt.Sprintf("spec.ingress[%d]", i), "from", p)...)
	}
	for i, r := range in.Egress {
		spec.Egress = append(spec.Egress, kubernetesRule(r.To, r.Ports, false, fmt.Sprintf("spec.egress[%d]", i), "to", p)...)
	}
	spec.Types = kubernetesTypes(in, p)
	return spec
}

// kubernetesTypes applies Kubernetes' defaulting of policyTypes (Ingress, plus Egress when there are
// egress rules; Calico's admission policy for staged KNPs does the same), then maps them in
// Ingress, Egress order.
func kubernetesTypes(in stagedKNPSpec, p *problems) []v1alpha1.PolicyType {
	ingress, egress := false, false
	if len(in.PolicyTypes) == 0 {
		ingress, egress = true, len(in.Egress) > 0
	}
	for i, t := range in.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		default:
			p.errorf(fmt.Sprintf("spec.policyTypes[%d]", i), "unsupported value %q: must be Ingress or Egress", t)
		}
	}
	var types []v1alpha1.PolicyType
	if ingress {
		types = append(types, v1alpha1.PolicyTypeIngress)
	}
	if egress {
		types = append(types, v1alpha1.PolicyTypeEgress)
	}
	return types
}

// peerFields is a Kubernetes peer in Calico terms.
type peerFields struct {
	selector, namespaceSelector string
	nets, notNets               []string
}

// protocolPorts is the ports of one protocol; nil ports mean every port of the protocol.
type protocolPorts struct {
	protocol string
	ports    []v1alpha1.PortRange
	allPorts bool
}

// kubernetesRule makes one Allow rule per protocol group and peer, protocols in sorted order ("" for
// no port restriction at all, then SCTP, TCP, UDP), peers in written order.
func kubernetesRule(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, ingress bool, path, peersField string, p *problems) []v1alpha1.Rule {
	var converted []*peerFields
	for i := range peers {
		converted = append(converted, kubernetesPeer(&peers[i], fmt.Sprintf("%s.%s[%d]", path, peersField, i), p))
	}
	if len(converted) == 0 {
		converted = []*peerFields{{}}
	}
	groups := groupPorts(ports, path, p)

	var rules []v1alpha1.Rule
	for _, g := range groups {
		var protocol *v1alpha1.Protocol
		if g.protocol != "" {
			pr := v1alpha1.ProtocolFromString(g.protocol)
			protocol = &pr
		}
		var rulePorts []v1alpha1.Port
		if !g.allPorts {
			for _, r := range simplifyPorts(g.ports) {
				rulePorts = append(rulePorts, portOf(r))
			}
		}
		for _, peer := range converted {
			if peer == nil {
				continue
			}
			r := v1alpha1.Rule{Action: v1alpha1.Allow, Protocol: protocol}
			side := v1alpha1.EntityRule{
				Selector:          peer.selector,
				NamespaceSelector: peer.namespaceSelector,
				Nets:              peer.nets,
				NotNets:           peer.notNets,
			}
			if ingress {
				r.Source = side
				r.Destination = v1alpha1.EntityRule{Ports: rulePorts}
			} else {
				side.Ports = rulePorts
				r.Destination = side
			}
			rules = append(rules, r)
		}
	}
	return rules
}

// groupPorts groups a rule's ports by protocol (TCP when unset). A port entry without a port number
// means every port of its protocol and wins over specific ports of that protocol; a rule without
// ports has one group with no protocol and no ports.
func groupPorts(ports []networkingv1.NetworkPolicyPort, path string, p *problems) []protocolPorts {
	if len(ports) == 0 {
		return []protocolPorts{{allPorts: true}}
	}
	byProtocol := map[string]*protocolPorts{}
	for i, port := range ports {
		field := fmt.Sprintf("%s.ports[%d]", path, i)
		protocol := string(corev1.ProtocolTCP)
		if port.Protocol != nil {
			protocol = string(*port.Protocol)
		}
		switch corev1.Protocol(protocol) {
		case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		default:
			p.errorf(field+".protocol", "unsupported value %q: must be TCP, UDP or SCTP", protocol)
			continue
		}
		g := byProtocol[protocol]
		if g == nil {
			g = &protocolPorts{protocol: protocol}
			byProtocol[protocol] = g
		}
		r, ok := kubernetesPort(port, field, p)
		if !ok {
			continue
		}
		if r == nil {
			g.allPorts, g.ports = true, nil
			continue
		}
		if !g.allPorts {
			g.ports = append(g.ports, *r)
		}
	}
	var out []protocolPorts
	for _, g := range byProtocol {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].protocol < out[k].protocol })
	return out
}

// kubernetesPort converts one port entry; nil means every port.
func kubernetesPort(port networkingv1.NetworkPolicyPort, field string, p *problems) (*v1alpha1.PortRange, bool) {
	if port.Port == nil {
		if port.EndPort != nil {
			p.errorf(field+".endPort", "requires port to be set")
			return nil, false
		}
		return nil, true
	}
	if port.Port.Type == intstr.String {
		if port.EndPort != nil {
			p.errorf(field+".endPort", "requires a numeric port, not the named port %q", port.Port.StrVal)
			return nil, false
		}
		if port.Port.StrVal == "" {
			p.errorf(field+".port", "must be a number or a port name")
			return nil, false
		}
		return &v1alpha1.PortRange{Name: port.Port.StrVal}, true
	}
	n := port.Port.IntVal
	if n < 1 || n > 65535 {
		p.errorf(field+".port", "invalid value %d: must be between 1 and 65535", n)
		return nil, false
	}
	r := v1alpha1.PortRange{Min: uint16(n), Max: uint16(n)}
	if port.EndPort != nil {
		end := *port.EndPort
		if end < n || end > 65535 {
			p.errorf(field+".endPort", "invalid value %d: must be between port (%d) and 65535", end, n)
			return nil, false
		}
		r.Max = uint16(end) //nolint:gosec // end is within [n, 65535], checked above
	}
	return &r, true
}

// simplifyPorts merges numeric ports and ranges into the fewest ranges, as Calico's SimplifyPorts:
// named ports first in written order, then the merged ranges in ascending order. When the entries
// cover at most one port number the list is kept as written (Calico short-circuits there too).
func simplifyPorts(ports []v1alpha1.PortRange) []v1alpha1.PortRange {
	var named, numeric []v1alpha1.PortRange
	covered := 0
	for _, r := range ports {
		if r.IsNamed() {
			named = append(named, r)
		} else {
			numeric = append(numeric, r)
			covered += int(r.Max) - int(r.Min) + 1
		}
	}
	if len(ports) <= 1 || covered <= 1 {
		return ports
	}
	sort.Slice(numeric, func(i, k int) bool { return numeric[i].Min < numeric[k].Min })
	merged := []v1alpha1.PortRange{numeric[0]}
	for _, r := range numeric[1:] {
		last := &merged[len(merged)-1]
		if int(r.Min) <= int(last.Max)+1 {
			if r.Max > last.Max {
				last.Max = r.Max
			}
			continue
		}
		merged = append(merged, r)
	}
	return append(named, merged...)
}

// portOf writes a range as Calico does: a number for a single port, "min:max" for a range.
func portOf(r v1alpha1.PortRange) v1alpha1.Port {
	if !r.IsNamed() && r.Min == r.Max {
		return v1alpha1.PortFromInt(int(r.Min))
	}
	return v1alpha1.PortFromString(r.String())
}

// kubernetesPeer converts one from/to entry; nil when it cannot be converted.
func kubernetesPeer(peer *networkingv1.NetworkPolicyPeer, path string, p *problems) *peerFields {
	if peer.IPBlock != nil {
		if peer.PodSelector != nil || peer.NamespaceSelector != nil {
			p.errorf(path, "ipBlock cannot be combined with podSelector or namespaceSelector")
			return nil
		}
		cidr, ok := maskedCIDR(peer.IPBlock.CIDR, path+".ipBlock.cidr", p)
		if !ok {
			return nil
		}
		out := &peerFields{nets: []string{cidr}}
		for i, e := range peer.IPBlock.Except {
			ex, ok := maskedCIDR(e, fmt.Sprintf("%s.ipBlock.except[%d]", path, i), p)
			if !ok {
				return nil
			}
			out.notNets = append(out.notNets, ex)
		}
		return out
	}
	if peer.PodSelector == nil && peer.NamespaceSelector == nil {
		p.errorf(path, "must set podSelector, namespaceSelector or ipBlock")
		return nil
	}
	out := &peerFields{}
	if peer.PodSelector != nil {
		out.selector = labelSelector(peer.PodSelector, path+".podSelector", p)
		if out.selector == "" {
			// Calico's orchestrator clause made an empty pod selector non-empty; without it, all()
			// keeps the meaning "pods of the policy's namespace" (an empty peer selector would
			// mean "any address").
			out.selector = "all()"
		}
	}
	if peer.NamespaceSelector != nil {
		out.namespaceSelector = labelSelector(peer.NamespaceSelector, path+".namespaceSelector", p)
		if out.namespaceSelector == "" {
			out.namespaceSelector = "all()"
		}
	}
	return out
}

// maskedCIDR parses a CIDR and returns its network form, as Calico writes ipBlock nets.
func maskedCIDR(s, field string, p *problems) (string, bool) {
	_, n, err := net.ParseCIDR(s)
	if err != nil {
		p.errorf(field, "invalid CIDR %q", s)
		return "", false
	}
	return n.String(), true
}

// labelSelector writes a Kubernetes label selector in Calico's selector language, in the exact
// form Calico's converter uses: matchLabels sorted by key as "k == 'v'", then matchExpressions in
// order ("k in { 'a', 'b' }", "k not in { ... }", "has(k)", "! has(k)"), joined by " && ".
func labelSelector(s *metav1.LabelSelector, path string, p *problems) string {
	var terms []string
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		terms = append(terms, fmt.Sprintf("%s == '%s'", k, s.MatchLabels[k]))
	}
	for i, e := range s.MatchExpressions {
		field := fmt.Sprintf("%s.matchExpressions[%d]", path, i)
		switch e.Operator {
		case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
			if len(e.Values) == 0 {
				p.errorf(field+".values", "must be non-empty for operator %s", e.Operator)
				continue
			}
			op := "in"
			if e.Operator == metav1.LabelSelectorOpNotIn {
				op = "not in"
			}
			terms = append(terms, fmt.Sprintf("%s %s { '%s' }", e.Key, op, strings.Join(e.Values, "', '")))
		case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
			if len(e.Values) > 0 {
				p.errorf(field+".values", "must be empty for operator %s", e.Operator)
				continue
			}
			if e.Operator == metav1.LabelSelectorOpExists {
				terms = append(terms, fmt.Sprintf("has(%s)", e.Key))
			} else {
				terms = append(terms, fmt.Sprintf("! has(%s)", e.Key))
			}
		default:
			p.errorf(field+".operator", "unsupported value %q: must be In, NotIn, Exists or DoesNotExist", e.Operator)
		}
	}
	return strings.Join(terms, " && ")
}
