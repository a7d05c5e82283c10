package engine

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// knpOrder is the order Calico gives every Kubernetes NetworkPolicy (semantics doc §7.2).
var knpOrder = 1000.0

// KubernetesNetworkPolicySpec converts a Kubernetes NetworkPolicy into the Calico policy spec Felix
// evaluates for it (libcalico-go K8sNetworkPolicyToCalico, semantics doc §7.2): tier default,
// order 1000, one Allow rule per (protocol x peer) of each k8s rule. Two deliberate differences:
//   - an empty policyTypes is defaulted as the API server does (Ingress, plus Egress iff there are
//     egress rules), since objects read from files have not been through the API server;
//   - anything Calico would drop or ignore with a log line (a bad port, a bad ipBlock CIDR, an
//     unknown operator or policy type) is returned as an error; the engine then fails the policy
//     closed instead of dropping the rule or widening the peer.
//
// The returned spec is usable even with an error.
func KubernetesNetworkPolicySpec(knp *networkingv1.NetworkPolicy) (v1alpha1.PolicySpec, error) {
	if knp == nil {
		return v1alpha1.PolicySpec{}, errors.New("converting Kubernetes NetworkPolicy: nil policy")
	}
	in := knpInput(knp)
	return *in.spec, errors.Join(in.convErrs...)
}

// knpInput converts a KNP, recording errors and the k8s rule index of every converted rule.
func knpInput(knp *networkingv1.NetworkPolicy) *policyInput {
	key := PolicyKey{Kind: KindKubernetesNetworkPolicy, Namespace: knp.Namespace, Name: knp.Name}
	c := &knpConverter{ns: knp.Namespace}
	spec := &v1alpha1.PolicySpec{Tier: v1alpha1.DefaultTier}
	spec.Selector = c.selector("spec.podSelector", &knp.Spec.PodSelector, true)
	in := &policyInput{key: key, spec: spec, explicitOrder: &knpOrder}
	o := knpOrder
	spec.Order = &o

	for i, r := range knp.Spec.Ingress {
		rules := c.rules(fmt.Sprintf("spec.ingress[%d]", i), r.From, r.Ports, true)
		spec.Ingress = append(spec.Ingress, rules...)
		for range rules {
			in.ingressOrigins = append(in.ingressOrigins, i)
		}
	}
	for i, r := range knp.Spec.Egress {
		rules := c.rules(fmt.Sprintf("spec.egress[%d]", i), r.To, r.Ports, false)
		spec.Egress = append(spec.Egress, rules...)
		for range rules {
			in.egressOrigins = append(in.egressOrigins, i)
		}
	}

	var ingress, egress bool
	if len(knp.Spec.PolicyTypes) == 0 {
		// Upstream defaulting (pkg/apis/networking/v1/defaults.go).
		ingress, egress = true, len(knp.Spec.Egress) > 0
	}
	for i, t := range knp.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		default:
			// Unreadable types: the (fail-closed) policy governs both directions.
			c.errorf("spec.policyTypes[%d]: %q is not Ingress or Egress", i, t)
			ingress, egress = true, true
		}
	}
	if ingress {
		spec.Types = append(spec.Types, v1alpha1.PolicyTypeIngress)
	}
	if egress {
		spec.Types = append(spec.Types, v1alpha1.PolicyTypeEgress)
	}
	if len(spec.Types) == 0 {
		spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}
	}
	in.convErrs = c.errs
	return in
}

type knpConverter struct {
	ns   string
	errs []error
}

func (c *knpConverter) errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf(format, args...))
}

// selector renders a k8s label selector as Calico does (k8sSelectorToCalico). Pod selectors get
// the projectcalico.org/orchestrator == 'k8s' clause, so they only match pods; a present but
// empty namespace selector is all(); a nil namespace selector is "" (the policy's namespace).
func (c *knpConverter) selector(path string, s *metav1.LabelSelector, pod bool) string {
	var parts []string
	if pod {
		parts = append(parts, LabelOrchestrator+" == 'k8s'")
	}
	if s == nil {
		return strings.Join(parts, " && ")
	}
	if !pod && len(s.MatchLabels) == 0 && len(s.MatchExpressions) == 0 {
		return "all()"
	}
	for _, k := range slices.Sorted(mapKeys(s.MatchLabels)) {
		parts = append(parts, fmt.Sprintf("%s == '%s'", k, s.MatchLabels[k]))
	}
	for i, e := range s.MatchExpressions {
		values := strings.Join(e.Values, "', '")
		switch e.Operator {
		case metav1.LabelSelectorOpIn:
			parts = append(parts, fmt.Sprintf("%s in { '%s' }", e.Key, values))
		case metav1.LabelSelectorOpNotIn:
			parts = append(parts, fmt.Sprintf("%s not in { '%s' }", e.Key, values))
		case metav1.LabelSelectorOpExists:
			parts = append(parts, fmt.Sprintf("has(%s)", e.Key))
		case metav1.LabelSelectorOpDoesNotExist:
			parts = append(parts, fmt.Sprintf("! has(%s)", e.Key))
		default:
			c.errorf("%s.matchExpressions[%d].operator: %q is not In, NotIn, Exists or DoesNotExist", path, i, e.Operator)
		}
	}
	return strings.Join(parts, " && ")
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// rules converts one k8s rule (k8sRuleToCalico).
func (c *knpConverter) rules(path string, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, ingress bool) []v1alpha1.Rule {
	// Protocol -> ports; a nil list means every port of the protocol. The key "" (no protocol,
	// no ports) only arises when the rule has no ports at all.
	byProto := map[string][]v1alpha1.Port{}
	if len(ports) == 0 {
		byProto[""] = nil
	}
	for i, p := range ports {
		proto := string(corev1.ProtocolTCP) // the API server's default
		if p.Protocol != nil {
			proto = string(*p.Protocol)
		}
		if p.Port == nil {
			if p.EndPort != nil {
				c.errorf("%s.ports[%d].endPort: requires port", path, i)
				return nil
			}
			byProto[proto] = nil
			continue
		}
		s := p.Port.String()
		if p.EndPort != nil {
			s = fmt.Sprintf("%s:%d", s, *p.EndPort)
		}
		r, err := v1alpha1.PortFromString(s).Parse()
		if err != nil {
			c.errorf("%s.ports[%d]: %w", path, i, err)
			return nil
		}
		// Written as Calico's numorstring would marshal it: a number for a single port.
		port := v1alpha1.PortFromString(r.String())
		if !r.IsNamed() && r.Min == r.Max {
			port = v1alpha1.PortFromInt(int(r.Min))
		}
		if have, ok := byProto[proto]; !ok || len(have) > 0 {
			byProto[proto] = append(have, port)
		}
	}
	protos := slices.Sorted(func(yield func(string) bool) {
		for k := range byProto {
			if !yield(k) {
				return
			}
		}
	})

	peerField := "to"
	if ingress {
		peerField = "from"
	}
	var peerList []knpPeer
	if len(peers) == 0 {
		peerList = []knpPeer{{}}
	}
	for i := range peers {
		pf, ok := c.peer(fmt.Sprintf("%s.%s[%d]", path, peerField, i), &peers[i])
		if !ok {
			return nil
		}
		peerList = append(peerList, pf)
	}

	var out []v1alpha1.Rule
	for _, proto := range protos {
		var protocol *v1alpha1.Protocol
		if proto != "" {
			p := v1alpha1.ProtocolFromString(proto)
			protocol = &p
		}
		portList := simplifyPorts(byProto[proto])
		for _, pf := range peerList {
			peer := v1alpha1.EntityRule{Selector: pf.selector, NamespaceSelector: pf.nsSelector, Nets: pf.nets, NotNets: pf.notNets}
			r := v1alpha1.Rule{Action: v1alpha1.Allow, Protocol: protocol}
			if ingress {
				r.Source = peer
				r.Destination = v1alpha1.EntityRule{Ports: portList}
			} else {
				peer.Ports = portList
				r.Destination = peer
			}
			out = append(out, r)
		}
	}
	return out
}

type knpPeer struct {
	selector, nsSelector string
	nets, notNets        []string
}

// peer converts a peer (k8sPeerToCalicoFields). ipBlock wins over selectors, as in Calico.
func (c *knpConverter) peer(path string, p *networkingv1.NetworkPolicyPeer) (knpPeer, bool) {
	if p.IPBlock != nil {
		cidr, err := maskedCIDR(p.IPBlock.CIDR)
		if err != nil {
			// Calico would keep the rule with no peer restriction: that would open traffic.
			c.errorf("%s.ipBlock.cidr: %w", path, err)
			return knpPeer{}, false
		}
		out := knpPeer{nets: []string{cidr}}
		for i, ex := range p.IPBlock.Except {
			m, err := maskedCIDR(ex)
			if err != nil {
				c.errorf("%s.ipBlock.except[%d]: %w", path, i, err)
				return knpPeer{}, false
			}
			out.notNets = append(out.notNets, m)
		}
		return out, true
	}
	return knpPeer{
		selector:   c.selector(path+".podSelector", p.PodSelector, true),
		nsSelector: c.selector(path+".namespaceSelector", p.NamespaceSelector, false),
	}, true
}

func maskedCIDR(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", fmt.Errorf("parsing CIDR %q: %w", s, err)
	}
	return p.Masked().String(), nil
}

// simplifyPorts merges numeric ports into minimal ranges and passes named ports through, like
// Calico's SimplifyPorts (named ports first, then ranges in ascending order). Lists of at most
// one numeric port are returned unchanged.
func simplifyPorts(ports []v1alpha1.Port) []v1alpha1.Port {
	if len(ports) <= 1 {
		return ports
	}
	var named []v1alpha1.Port
	var ranges []v1alpha1.PortRange
	for _, p := range ports {
		r, err := p.Parse() // already parsed once by the caller
		if err != nil {
			continue
		}
		if r.IsNamed() {
			named = append(named, p)
		} else {
			ranges = append(ranges, r)
		}
	}
	if len(ranges) <= 1 && (len(ranges) == 0 || ranges[0].Min == ranges[0].Max) {
		return ports
	}
	sort.Slice(ranges, func(i, j int) bool {
		return cmp.Or(cmp.Compare(ranges[i].Min, ranges[j].Min), cmp.Compare(ranges[i].Max, ranges[j].Max)) < 0
	})
	out := named
	cur := ranges[0]
	flush := func() {
		if cur.Min == cur.Max {
			out = append(out, v1alpha1.PortFromInt(int(cur.Min)))
		} else {
			out = append(out, v1alpha1.PortFromString(cur.String()))
		}
	}
	for _, r := range ranges[1:] {
		if int(r.Min) <= int(cur.Max)+1 {
			cur.Max = max(cur.Max, r.Max)
			continue
		}
		flush()
		cur = r
	}
	flush()
	return out
}
