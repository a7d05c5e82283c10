package engine

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/selector"
)

// policyInput is a policy generation in the shape every kind is reduced to.
type policyInput struct {
	key  PolicyKey
	spec *v1alpha1.PolicySpec
	// GNP-only fields.
	namespaceSelector string
	hostOnly          bool // doNotTrack or preDNAT: applies to host endpoints only
	// explicitOrder overrides spec.Order (KNPs sit at order 1000).
	explicitOrder *float64
	// origins map converted rules to the rule index as written (KNPs).
	ingressOrigins, egressOrigins []int
	// convErrs are errors found before compilation (KNP conversion).
	convErrs []error
	// subjectErr: convErrs include an unreadable policy selector (a KNP podSelector).
	subjectErr bool
}

// compileInput builds a compiled generation. The result is always usable: when err is non-nil the
// generation fails closed (doc.go). Peer selectors are not interned yet.
func compileInput(in *policyInput, slot Slot) (*compiled, error) {
	b := &builder{ns: in.key.Namespace}
	b.errs = append(b.errs, in.convErrs...)
	spec := in.spec
	c := &compiled{key: in.key, slot: slot, tier: lookupTier(spec.Tier), sortName: in.key.sortName()}

	order := spec.Order
	if in.explicitOrder != nil {
		order = in.explicitOrder
	}
	c.order = math.Inf(1)
	if order != nil && !math.IsNaN(*order) {
		o := *order
		c.order, c.orderPtr = o, &o
	}

	c.governs = b.types(spec)
	c.subject = b.subject(in)
	c.rules[Ingress] = b.compileRules("spec.ingress", spec.Ingress, in.ingressOrigins)
	c.rules[Egress] = b.compileRules("spec.egress", spec.Egress, in.egressOrigins)

	if len(b.errs) == 0 {
		return c, nil
	}
	err := errors.Join(b.errs...)
	c.failClosed, c.errText = true, err.Error()
	// A fail-closed policy denies at its position; its rules are never consulted, and it holds
	// no peer selectors.
	c.rules = [numDirections][]rule{}
	return c, &InvalidPolicyError{Key: in.key, Err: err}
}

// types returns the governed directions. Empty types are defaulted as the mutating webhook does
// (docs/semantics.md §2): Egress only when there are egress rules and no ingress rules, both when
// both are present, Ingress otherwise. An unknown type fails closed governing both directions.
func (b *builder) types(spec *v1alpha1.PolicySpec) [numDirections]bool {
	var g [numDirections]bool
	if len(spec.Types) == 0 {
		in, eg := len(spec.Ingress) > 0, len(spec.Egress) > 0
		g[Ingress] = in || !eg
		g[Egress] = eg
		return g
	}
	for i, t := range spec.Types {
		switch t {
		case v1alpha1.PolicyTypeIngress:
			g[Ingress] = true
		case v1alpha1.PolicyTypeEgress:
			g[Egress] = true
		default:
			b.errorf("spec.types[%d]: %q is not Ingress or Egress", i, t)
			return [numDirections]bool{true, true}
		}
	}
	return g
}

// subject compiles the policy selector (docs/semantics.md §5.1). A selector that does not parse
// selects no pod (docs/semantics.md, "Invalid policies that reach the store"): an
// unreadable subject must not cut off its whole scope because of a typo.
func (b *builder) subject(in *policyInput) subject {
	spec := in.spec
	s := subject{noPods: in.hostOnly, namespace: in.key.Namespace}
	before := len(b.errs)
	s.sel = b.parseSelector("spec.selector", spec.Selector)
	if in.namespaceSelector != "" {
		s.nsSel = b.parseSelector("spec.namespaceSelector", in.namespaceSelector)
	}
	if spec.ServiceAccountSelector != "" {
		s.saSel = b.parseSelector("spec.serviceAccountSelector", spec.ServiceAccountSelector)
	}
	if in.key.Kind == KindGlobalNetworkPolicy && spec.ServiceAccountSelector != "" {
		s.saAbsent = felixGlobalSelector(spec.Selector, in.namespaceSelector, spec.ServiceAccountSelector)
	}
	s.unreadable = in.subjectErr || len(b.errs) > before
	return s
}

// felixGlobalSelector builds the selector Felix evaluates for a GNP with a serviceAccountSelector
// (globalnetworkpolicyprocessor.go): the pcns.-prefixed namespaceSelector and the pcsa.-prefixed
// serviceAccountSelector are appended, and every textual all() is rewritten, first to
// has(projectcalico.org/namespace) (when a namespaceSelector is set), then to
// has(projectcalico.org/serviceaccount). The engine only evaluates it for pods that lack the
// serviceaccount label: for every other pod both rewrites are true and the view-based evaluation
// gives the same answer. It returns nil if any part does not parse (the policy then fails closed).
func felixGlobalSelector(sel, nsSel, saSel string) selector.Selector {
	appendPrefixed := func(cur, add, prefix string) (string, bool) {
		p, err := selector.Parse(add)
		if err != nil {
			return "", false
		}
		prefixed := selector.PrefixKeys(p, prefix).String()
		if cur == "" {
			return prefixed, true
		}
		return "(" + cur + ") && " + prefixed, true
	}
	out := sel
	var ok bool
	if nsSel != "" {
		if out, ok = appendPrefixed(out, nsSel, namespaceLabelPrefix); !ok {
			return nil
		}
		out = strings.ReplaceAll(out, "all()", "has("+LabelNamespace+")")
	}
	if out, ok = appendPrefixed(out, saSel, serviceAccountLabelPrefix); !ok {
		return nil
	}
	out = strings.ReplaceAll(out, "all()", "has("+LabelServiceAccount+")")
	parsed, err := selector.Parse(out)
	if err != nil {
		return nil
	}
	return parsed
}

// matches reports whether the policy generation applies to the pod.
func (s *subject) matches(v *podView) bool {
	if s.noPods || s.unreadable {
		return false
	}
	if s.namespace != "" && v.ep.ref.Namespace != s.namespace {
		return false
	}
	if s.saAbsent != nil && !v.ep.hasSALabel {
		return s.saAbsent.Matches(v)
	}
	if !s.sel.Matches(v) {
		return false
	}
	if s.nsSel != nil && !s.nsSel.Matches(nsView{v}) {
		return false
	}
	if s.saSel != nil && !s.saSel.Matches(saView{v}) {
		return false
	}
	return true
}

// networkPolicyInput reduces a Palisade NetworkPolicy.
func networkPolicyInput(np *v1alpha1.NetworkPolicy) (*policyInput, error) {
	if np == nil {
		return nil, notStored("NetworkPolicy", errors.New("nil object"))
	}
	if np.Name == "" || np.Namespace == "" {
		return nil, notStored(fmt.Sprintf("NetworkPolicy %q", np.Namespace+"/"+np.Name), errors.New("metadata.name and metadata.namespace are required"))
	}
	key := PolicyKey{Kind: KindNetworkPolicy, Namespace: np.Namespace, Name: np.Name}
	return &policyInput{key: key, spec: &np.Spec.PolicySpec}, nil
}

// globalNetworkPolicyInput reduces a Palisade GlobalNetworkPolicy.
func globalNetworkPolicyInput(gnp *v1alpha1.GlobalNetworkPolicy) (*policyInput, error) {
	if gnp == nil {
		return nil, notStored("GlobalNetworkPolicy", errors.New("nil object"))
	}
	if gnp.Name == "" {
		return nil, notStored("GlobalNetworkPolicy", errors.New("metadata.name is required"))
	}
	key := PolicyKey{Kind: KindGlobalNetworkPolicy, Name: gnp.Name}
	return &policyInput{
		key:               key,
		spec:              &gnp.Spec.PolicySpec,
		namespaceSelector: gnp.Spec.NamespaceSelector,
		hostOnly:          gnp.Spec.DoNotTrack || gnp.Spec.PreDNAT,
	}, nil
}
