package oracle

import (
	"fmt"

	"github.com/mattfenwick/cyclonus/pkg/matcher"
	networkingv1 "k8s.io/api/networking/v1"
)

// Verdict is the outcome of a flow in each direction: the source's egress
// policy and the destination's ingress policy. The flow is allowed iff both
// allow it.
type Verdict struct {
	Egress, Ingress bool
}

// Allowed says whether the connection is established.
func (v Verdict) Allowed() bool { return v.Egress && v.Ingress }

func (v Verdict) String() string {
	word := func(b bool) string {
		if b {
			return "allow"
		}
		return "deny"
	}
	return fmt.Sprintf("egress=%s ingress=%s", word(v.Egress), word(v.Ingress))
}

// Cyclonus evaluates flows with cyclonus's matcher, built once per scenario.
type Cyclonus struct {
	s      *Scenario
	policy *matcher.Policy
}

// NewCyclonus builds the cyclonus matcher for s. Cyclonus expects objects as
// the API server stores them, so policyTypes are defaulted first (on copies:
// the scenario itself keeps what the user wrote, which is what Palisade's
// engine is given).
func NewCyclonus(s *Scenario) *Cyclonus {
	var defaulted []*networkingv1.NetworkPolicy
	for _, np := range s.Policies {
		defaulted = append(defaulted, expandNotIn(DefaultPolicyTypes(np))...)
	}
	// simplify=false: the oracle should be cyclonus's most literal reading.
	return &Cyclonus{s: s, policy: matcher.BuildNetworkPolicies(false, defaulted)}
}

// DefaultPolicyTypes returns a copy of np with policyTypes defaulted as the
// API server does (k8s.io/kubernetes pkg/apis/networking/v1/defaults.go):
// when empty, Ingress, plus Egress iff there is at least one egress rule.
func DefaultPolicyTypes(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	out := np.DeepCopy()
	if len(out.Spec.PolicyTypes) > 0 {
		return out
	}
	out.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	if len(out.Spec.Egress) > 0 {
		out.Spec.PolicyTypes = append(out.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return out
}

// Verdict returns cyclonus's verdict for f.
func (c *Cyclonus) Verdict(f Flow) Verdict {
	res := c.policy.IsTrafficAllowed(&matcher.Traffic{
		Source:      c.peer(f.From),
		Destination: c.peer(f.To),
		// Named ports are resolved against the destination pod, which is
		// what both upstream and Calico do for pod destinations (§5.3 of
		// docs/semantics.md); for an IP destination no name exists.
		ResolvedPort:     int(f.Port.Port),
		ResolvedPortName: portName(f.To.Pod, f.Port),
		Protocol:         f.Port.Protocol,
	})
	return Verdict{Egress: res.Egress.IsAllowed(), Ingress: res.Ingress.IsAllowed()}
}

func (c *Cyclonus) peer(e Endpoint) *matcher.TrafficPeer {
	if e.Pod == nil {
		return &matcher.TrafficPeer{IP: e.IP}
	}
	ns := c.s.Namespace(e.Pod.Namespace)
	return &matcher.TrafficPeer{
		IP: e.IP,
		Internal: &matcher.InternalPeer{
			PodLabels:       e.Pod.Labels,
			NamespaceLabels: ns.Labels,
			Namespace:       e.Pod.Namespace,
		},
	}
}
