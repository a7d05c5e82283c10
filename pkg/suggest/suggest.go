package suggest

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// Policy is the policy a suggestion is for: exactly one of its fields is set. It is read, never
// written.
type Policy struct {
	NetworkPolicy       *v1alpha1.NetworkPolicy
	GlobalNetworkPolicy *v1alpha1.GlobalNetworkPolicy
}

// Flow is a flow the policy would deny.
type Flow struct {
	Source, Destination Peer
	// Protocol is a protocol name (TCP, UDP, SCTP, ICMP, ICMPv6, UDPLite) or number, as NodeReports
	// write it.
	Protocol string
	// Port is the destination port; 0 when the protocol has none.
	Port int32
}

// Result is a suggestion: the rules to paste (one per direction the policy denies the flow in), or a
// note saying why there are none. Note may also accompany rules (a peer without labels).
type Result struct {
	Rules []v1alpha1.SuggestedRule
	Note  string
}

// Notes when no rule is suggested.
const (
	NoteAllowed    = "the policy allows this flow as it stands (labels or addresses may have changed since it was seen)"
	NoteNotAllowed = "no Allow rule in this policy allows the flow"
)

// For suggests rules that make p allow f. nsLabels gives the labels of the namespaces involved,
// where known; kubernetes.io/metadata.name is always assumed, as the API server sets it. An error
// means the input cannot be read (an unknown protocol, a policy that does not compile); a flow for
// which no rule can be written is a Result with a Note and no rules.
func For(p Policy, f Flow, nsLabels map[string]map[string]string) (Result, error) {
	proto, err := v1alpha1.ProtocolFromString(f.Protocol).Number()
	if err != nil {
		return Result{}, fmt.Errorf("flow protocol: %w", err)
	}
	if f.Port < 0 || f.Port > 65535 {
		return Result{}, fmt.Errorf("flow port %d is outside 0-65535", f.Port)
	}
	if (p.NetworkPolicy == nil) == (p.GlobalNetworkPolicy == nil) {
		return Result{}, errors.New("suggest: exactly one of NetworkPolicy and GlobalNetworkPolicy must be given")
	}
	w, err := newWorld(f, proto, nsLabels)
	if err != nil {
		return Result{}, err
	}
	denied, err := w.deniedSides(p)
	if err != nil {
		return Result{}, err
	}
	if len(denied) == 0 {
		return Result{Note: NoteAllowed}, nil
	}
	var res Result
	candidate := p.deepCopy()
	for _, dir := range denied {
		r, broad := rule(p, f, dir)
		if broad != nil {
			res.Note = fmt.Sprintf("pod %s has no labels to select it by: the rule allows every pod of namespace %s", broad.Namespace+"/"+broad.Name, broad.Namespace)
		}
		res.Rules = append(res.Rules, v1alpha1.SuggestedRule{Direction: dir, Rule: r})
		candidate.prepend(dir, r)
	}
	if errs := candidate.validate(); len(errs) > 0 {
		return Result{}, fmt.Errorf("suggested rule fails validation: %w", errs.ToAggregate())
	}
	still, err := w.deniedSides(candidate)
	if err != nil {
		return Result{}, err
	}
	if len(still) > 0 {
		return Result{Note: NoteNotAllowed}, nil
	}
	return res, nil
}

// rule builds the Allow rule for one direction: the peer is the far end of the flow (the source for
// Ingress, the destination for Egress); the destination port is always matched. broad is the peer pod
// when it had no labels to select it by.
func rule(p Policy, f Flow, dir v1alpha1.PolicyType) (v1alpha1.Rule, *Pod) {
	r := v1alpha1.Rule{Action: v1alpha1.Allow}
	pr := v1alpha1.ProtocolFromString(f.Protocol)
	r.Protocol = &pr
	peer := f.Source
	side := &r.Source
	if dir == v1alpha1.PolicyTypeEgress {
		peer, side = f.Destination, &r.Destination
	}
	var broad *Pod
	switch {
	case peer.Pod != nil:
		sel, none := selectorFor(peer.Pod)
		side.Selector = sel
		if none {
			broad = peer.Pod
		}
		// A rule selector in a NetworkPolicy means its own namespace; in a GlobalNetworkPolicy every
		// namespace. Pin the namespace unless the policy's own is meant.
		if p.NetworkPolicy == nil || peer.Pod.Namespace != p.NetworkPolicy.Namespace {
			side.NamespaceSelector = namespaceSelectorFor(peer.Pod.Namespace)
		}
	case peer.Addr.IsValid():
		side.Nets = []string{netip.PrefixFrom(peer.Addr, peer.Addr.BitLen()).String()}
	}
	if pr.SupportsPorts() && f.Port > 0 {
		r.Destination.Ports = []v1alpha1.Port{v1alpha1.PortFromInt(int(f.Port))}
	}
	return r, broad
}

func (p Policy) deepCopy() Policy {
	if p.NetworkPolicy != nil {
		return Policy{NetworkPolicy: p.NetworkPolicy.DeepCopy()}
	}
	return Policy{GlobalNetworkPolicy: p.GlobalNetworkPolicy.DeepCopy()}
}

func (p Policy) spec() *v1alpha1.PolicySpec {
	if p.NetworkPolicy != nil {
		return &p.NetworkPolicy.Spec.PolicySpec
	}
	return &p.GlobalNetworkPolicy.Spec.PolicySpec
}

// prepend puts r first in the direction's rules, so that no earlier Deny or Pass rule of the policy
// decides the flow before it.
func (p Policy) prepend(dir v1alpha1.PolicyType, r v1alpha1.Rule) {
	s := p.spec()
	if dir == v1alpha1.PolicyTypeEgress {
		s.Egress = append([]v1alpha1.Rule{r}, s.Egress...)
		return
	}
	s.Ingress = append([]v1alpha1.Rule{r}, s.Ingress...)
}

func (p Policy) validate() fieldErrors {
	if p.NetworkPolicy != nil {
		errs, _ := validation.ValidateNetworkPolicy(p.NetworkPolicy)
		return errs
	}
	errs, _ := validation.ValidateGlobalNetworkPolicy(p.GlobalNetworkPolicy)
	return errs
}

// upsert loads the policy into e as its enforced generation.
func (p Policy) upsert(e *engine.Engine) error {
	if p.NetworkPolicy != nil {
		return e.UpsertNetworkPolicy(p.NetworkPolicy, engine.SlotEnforced)
	}
	return e.UpsertGlobalNetworkPolicy(p.GlobalNetworkPolicy, engine.SlotEnforced)
}
