package knp

import (
	"slices"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Order is the order Calico gives every Kubernetes NetworkPolicy.
const Order = 1000.0

// Form says how a translation writes what only Calico needs. Both forms select the same pods
// and allow the same flows.
type Form uint8

const (
	// FormCalico is the spec as Calico's converter writes it and Felix evaluates it: tier
	// "default", and every pod selector (including a peer's missing one next to a
	// namespaceSelector) ANDed with projectcalico.org/orchestrator == 'k8s', which is how Calico
	// keeps Kubernetes peers to pods rather than network sets or host endpoints.
	FormCalico Form = iota
	// FormPalisade is the spec as a Palisade NetworkPolicy is written: the tier is left to
	// defaulting and there is no orchestrator clause, since Palisade policies only ever select
	// pods. An empty pod selector is written all(): an empty peer selector would mean any address.
	FormPalisade
)

// orchestratorClause is the label test Calico puts in front of every Kubernetes pod selector.
const orchestratorClause = "projectcalico.org/orchestrator == 'k8s'"

// Policy is the translation of one Kubernetes NetworkPolicy spec.
type Policy struct {
	// Spec is the Calico-model spec. With errors it holds what translated (see the package doc
	// for the reading it gives the parts in error).
	Spec v1alpha1.PolicySpec
	// IngressOrigins[i] is the index in the Kubernetes spec.ingress of the rule that
	// Spec.Ingress[i] was made from (one Kubernetes rule makes one Calico rule per protocol and
	// peer); a trace reports that index. EgressOrigins likewise for Spec.Egress.
	IngressOrigins, EgressOrigins []int
}

// Translate translates a Kubernetes NetworkPolicy spec (docs/semantics.md
// §7.2). The Policy is always usable; the errors name every field that could not be
// translated, with paths under "spec". A nil spec translates as an empty one, with an error.
func Translate(spec *networkingv1.NetworkPolicySpec, form Form) (Policy, ErrorList) {
	t := &translator{form: form}
	sp := field.NewPath("spec")
	if spec == nil {
		t.errorf(sp, "no NetworkPolicy spec given")
		spec = &networkingv1.NetworkPolicySpec{}
	}
	var out Policy
	order := Order
	out.Spec.Order = &order
	if form == FormCalico {
		out.Spec.Tier = v1alpha1.DefaultTier
	}
	out.Spec.Selector = t.policySelector(spec, sp.Child("podSelector"))
	for i := range spec.Ingress {
		r := &spec.Ingress[i]
		made := t.rules(r.From, r.Ports, true, sp.Child("ingress").Index(i))
		out.Spec.Ingress, out.IngressOrigins = appendRules(out.Spec.Ingress, out.IngressOrigins, made, i)
	}
	for i := range spec.Egress {
		r := &spec.Egress[i]
		made := t.rules(r.To, r.Ports, false, sp.Child("egress").Index(i))
		out.Spec.Egress, out.EgressOrigins = appendRules(out.Spec.Egress, out.EgressOrigins, made, i)
	}
	out.Spec.Types = t.types(spec, sp.Child("policyTypes"))
	return out, t.errs
}

// appendRules appends the rules made from Kubernetes rule i, recording i as their origin.
func appendRules(rules []v1alpha1.Rule, origins []int, made []v1alpha1.Rule, i int) ([]v1alpha1.Rule, []int) {
	for range made {
		origins = append(origins, i)
	}
	return append(rules, made...), origins
}

// translator holds the state of one translation.
type translator struct {
	form Form
	errs ErrorList
}

// types maps policyTypes in Ingress, Egress order, defaulting an empty list as the API server
// does (pkg/apis/networking/v1/defaults.go): Ingress, plus Egress iff there are egress rules. So
// egress rules without Egress in an explicit list are kept but govern nothing, and `egress: []`
// alone does not make an egress default-deny (section 7.3).
func (t *translator) types(spec *networkingv1.NetworkPolicySpec, p *field.Path) []v1alpha1.PolicyType {
	ingress, egress := false, false
	if len(spec.PolicyTypes) == 0 {
		ingress, egress = true, len(spec.Egress) > 0
	}
	for i, pt := range spec.PolicyTypes {
		switch pt {
		case networkingv1.PolicyTypeIngress:
			ingress = true
		case networkingv1.PolicyTypeEgress:
			egress = true
		default:
			t.errorf(p.Index(i), "unsupported value %q: must be Ingress or Egress", pt)
			// The direction meant is unknown: a caller failing the policy closed must deny both.
			ingress, egress = true, true
		}
	}
	var out []v1alpha1.PolicyType
	if ingress {
		out = append(out, v1alpha1.PolicyTypeIngress)
	}
	if egress {
		out = append(out, v1alpha1.PolicyTypeEgress)
	}
	return out
}

// rules translates one Kubernetes rule (Calico's k8sRuleToCalico): one Allow rule per protocol
// group, in sorted protocol order ("" for a rule without ports, then SCTP, TCP, UDP), and per peer
// in written order. Ingress puts the peer in source and the ports in destination; egress puts
// both in destination. A rule with any error makes no rules at all: dropping only the bad port
// or peer would leave a wider Allow than the one written (every port, or every source).
func (t *translator) rules(peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort, ingress bool, p *field.Path) []v1alpha1.Rule {
	peersField := "to"
	if ingress {
		peersField = "from"
	}
	ok := true
	sides := make([]peer, 0, max(len(peers), 1))
	for i := range peers {
		s, peerOK := t.peer(&peers[i], p.Child(peersField).Index(i))
		ok = ok && peerOK
		sides = append(sides, s)
	}
	if len(peers) == 0 {
		sides = append(sides, peer{}) // no from/to: every source or destination
	}
	groups, portsOK := t.ports(ports, p.Child("ports"))
	if !ok || !portsOK {
		return nil
	}

	var out []v1alpha1.Rule
	for _, g := range groups {
		var rulePorts []v1alpha1.Port
		if !g.all {
			for _, r := range simplifyPorts(g.ranges) {
				rulePorts = append(rulePorts, portOf(r))
			}
		}
		for _, s := range sides {
			// Every rule gets its own copies, so that a caller editing one rule edits only that one.
			r := v1alpha1.Rule{Action: v1alpha1.Allow}
			if g.protocol != "" {
				pr := v1alpha1.ProtocolFromString(g.protocol)
				r.Protocol = &pr
			}
			side := v1alpha1.EntityRule{
				Selector:          s.selector,
				NamespaceSelector: s.namespaceSelector,
				Nets:              slices.Clone(s.nets),
				NotNets:           slices.Clone(s.notNets),
			}
			if ingress {
				r.Source = side
				r.Destination = v1alpha1.EntityRule{Ports: slices.Clone(rulePorts)}
			} else {
				side.Ports = slices.Clone(rulePorts)
				r.Destination = side
			}
			out = append(out, r)
		}
	}
	return out
}
