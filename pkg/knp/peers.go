package knp

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// peer is one from/to entry in Calico terms.
type peer struct {
	selector, namespaceSelector string
	nets, notNets               []string
}

// peer translates one from/to entry (Calico's k8sPeerToCalicoFields) and reports whether it
// translated. A namespaceSelector {} is all(); a missing one leaves the peer in the policy's
// namespace. An empty entry (which Calico would read as the pods of the policy's namespace) and
// an ipBlock next to a selector (where Calico ignores the selectors) are errors, as upstream.
func (t *translator) peer(in *networkingv1.NetworkPolicyPeer, p *field.Path) (peer, bool) {
	switch {
	case in.IPBlock != nil && (in.PodSelector != nil || in.NamespaceSelector != nil):
		t.errorf(p, "ipBlock cannot be combined with podSelector or namespaceSelector: use separate peers")
		return peer{}, false
	case in.IPBlock != nil:
		return t.ipBlock(in.IPBlock, p.Child("ipBlock"))
	case in.PodSelector == nil && in.NamespaceSelector == nil:
		t.errorf(p, "must set podSelector, namespaceSelector or ipBlock")
		return peer{}, false
	}
	var out peer
	ok := true
	if in.PodSelector != nil || t.form == FormCalico {
		// Calico writes the orchestrator clause even without a podSelector, so that a
		// namespaceSelector-only peer matches pods only.
		var terms []string
		if in.PodSelector != nil {
			terms, ok = t.labelSelector(in.PodSelector, p.Child("podSelector"))
		}
		out.selector = t.podSelector(terms)
	}
	if in.NamespaceSelector != nil {
		terms, nsOK := t.labelSelector(in.NamespaceSelector, p.Child("namespaceSelector"))
		ok = ok && nsOK
		out.namespaceSelector = "all()"
		if len(terms) > 0 {
			out.namespaceSelector = strings.Join(terms, " && ")
		}
	}
	return out, ok
}

// ipBlock translates an ipBlock into nets and notNets in their network form (10.0.0.1/16 is
// written 10.0.0.0/16), as Calico does. Calico would keep a peer whose CIDR does not parse with no
// restriction at all; here it is an error. Every except must be a strict subset of the cidr, as
// upstream requires: one of another family would make the Calico rule match nothing, and one
// outside the cidr has no upstream meaning.
func (t *translator) ipBlock(b *networkingv1.IPBlock, p *field.Path) (peer, bool) {
	cidr, ok := t.cidr(b.CIDR, p.Child("cidr"))
	if !ok {
		return peer{}, false
	}
	out := peer{nets: []string{cidr.String()}}
	for i, s := range b.Except {
		ep := p.Child("except").Index(i)
		ex, exOK := t.cidr(s, ep)
		switch {
		case !exOK:
			ok = false
		case ex.Addr().BitLen() != cidr.Addr().BitLen() || ex.Bits() <= cidr.Bits() || !cidr.Contains(ex.Addr()):
			t.errorf(ep, "%q must be a strict subset of cidr %q", s, b.CIDR)
			ok = false
		default:
			out.notNets = append(out.notNets, ex.String())
		}
	}
	return out, ok
}

// cidr parses a CIDR and masks it. An IPv4-mapped IPv6 CIDR is an error: Calico's parser reads
// ::ffff:10.0.0.0/104 as 10.0.0.0/8 where net/netip keeps it IPv6, and Palisade's validation
// rejects it in rules.
func (t *translator) cidr(s string, p *field.Path) (netip.Prefix, bool) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		t.errorf(p, "parsing CIDR %q: %w", s, err)
		return netip.Prefix{}, false
	}
	if pfx.Addr().Is4In6() {
		t.errorf(p, "IPv4-mapped IPv6 CIDR %q is ambiguous: write the IPv4 CIDR", s)
		return netip.Prefix{}, false
	}
	return pfx.Masked(), true
}

// policySelector translates the policy's podSelector. One in error selects every pod of the
// namespace, so that a caller failing the policy closed denies across the policy's whole scope.
func (t *translator) policySelector(spec *networkingv1.NetworkPolicySpec, p *field.Path) string {
	terms, ok := t.labelSelector(&spec.PodSelector, p)
	if !ok {
		terms = nil
	}
	return t.podSelector(terms)
}

// podSelector writes a pod selector from its terms in the translator's form.
func (t *translator) podSelector(terms []string) string {
	if t.form == FormCalico {
		terms = append([]string{orchestratorClause}, terms...)
	}
	if len(terms) == 0 {
		return "all()"
	}
	return strings.Join(terms, " && ")
}

// labelSelector writes a label selector's terms exactly as Calico's k8sSelectorToCalico does:
// matchLabels sorted by key as "k == 'v'", then matchExpressions in order ("k in { 'a', 'b' }",
// "k not in { ... }", "has(k)", "! has(k)"). Keys and values are checked against Kubernetes'
// label syntax first, because they are written into the selector text as they are: a value
// holding a quote could otherwise rewrite the selector. It reports whether the selector had no
// error; terms in error are left out.
func (t *translator) labelSelector(s *metav1.LabelSelector, p *field.Path) ([]string, bool) {
	before := len(t.errs)
	var terms []string
	lp := p.Child("matchLabels")
	for _, k := range slices.Sorted(maps.Keys(s.MatchLabels)) {
		v := s.MatchLabels[k]
		keyOK := t.labelKey(k, lp)
		if t.labelValue(v, lp.Key(k)) && keyOK {
			terms = append(terms, fmt.Sprintf("%s == '%s'", k, v))
		}
	}
	for i := range s.MatchExpressions {
		ep := p.Child("matchExpressions").Index(i)
		if term, ok := t.requirement(&s.MatchExpressions[i], ep); ok {
			terms = append(terms, term)
		}
	}
	return terms, len(t.errs) == before
}

// requirement writes one matchExpressions entry.
func (t *translator) requirement(e *metav1.LabelSelectorRequirement, p *field.Path) (string, bool) {
	ok := t.labelKey(e.Key, p.Child("key"))
	switch e.Operator {
	case metav1.LabelSelectorOpIn, metav1.LabelSelectorOpNotIn:
		if len(e.Values) == 0 {
			// Calico would write "k in { '' }", which matches the empty value.
			t.errorf(p.Child("values"), "must be non-empty for operator %s", e.Operator)
			return "", false
		}
		for i, v := range e.Values {
			ok = t.labelValue(v, p.Child("values").Index(i)) && ok
		}
		op := "in"
		if e.Operator == metav1.LabelSelectorOpNotIn {
			op = "not in"
		}
		return fmt.Sprintf("%s %s { '%s' }", e.Key, op, strings.Join(e.Values, "', '")), ok
	case metav1.LabelSelectorOpExists, metav1.LabelSelectorOpDoesNotExist:
		if len(e.Values) > 0 {
			t.errorf(p.Child("values"), "must be empty for operator %s", e.Operator)
			return "", false
		}
		if e.Operator == metav1.LabelSelectorOpExists {
			return fmt.Sprintf("has(%s)", e.Key), ok
		}
		return fmt.Sprintf("! has(%s)", e.Key), ok
	default:
		t.errorf(p.Child("operator"), "unsupported value %q: must be In, NotIn, Exists or DoesNotExist", e.Operator)
		return "", false
	}
}

func (t *translator) labelKey(k string, p *field.Path) bool {
	if msgs := utilvalidation.IsQualifiedName(k); len(msgs) > 0 {
		t.errorf(p, "invalid label key %q: %s", k, strings.Join(msgs, "; "))
		return false
	}
	return true
}

func (t *translator) labelValue(v string, p *field.Path) bool {
	if msgs := utilvalidation.IsValidLabelValue(v); len(msgs) > 0 {
		t.errorf(p, "invalid label value %q: %s", v, strings.Join(msgs, "; "))
		return false
	}
	return true
}
