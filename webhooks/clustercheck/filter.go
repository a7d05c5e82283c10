package clustercheck

import (
	"fmt"
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/selector"
)

// podFilter chooses pods: the pods a policy applies to, or the pods one side of a rule matches. Every
// criterion that is set must hold. The selectors are Calico's, evaluated over endpoint labels, also
// for a Kubernetes NetworkPolicy: it is checked in its pkg/knp translation, as Felix evaluates it.
type podFilter struct {
	// none: the filter matches no pod (a namespaceSelector of global() matches only endpoints
	// without a namespace, which pods never are).
	none bool
	// namespace limits the filter to one namespace; "" means any.
	namespace string

	nsSel   selector.Selector // Calico, pcns.-prefixed
	sel     selector.Selector // Calico, may test pcsa./projectcalico.org labels
	saNames map[string]bool   // service-account names, or nil for any

	// Text for messages: what the user wrote, not the composed selectors.
	nsText, selText string
}

func (f *podFilter) matches(e *endpoint) bool {
	switch {
	case f.none:
		return false
	case f.namespace != "" && e.pod.Namespace != f.namespace:
		return false
	case f.saNames != nil && !f.saNames[e.pod.ServiceAccount]:
		return false
	case f.nsSel != nil && !f.nsSel.Matches(e):
		return false
	case f.sel != nil && !f.sel.Matches(e):
		return false
	}
	return true
}

// pods returns the pods the filter matches.
func (w *world) pods(f *podFilter) []*endpoint {
	if f.none {
		return nil
	}
	var out []*endpoint
	for _, e := range w.endpoints(f.namespace) {
		if f.matches(e) {
			out = append(out, e)
		}
	}
	return out
}

// describe names the pods a filter chooses, short enough for a warning:
// `pods in namespace "shop" matching app == 'web'`.
func (f *podFilter) describe() string {
	var b strings.Builder
	b.WriteString("pod")
	switch {
	case f.namespace != "":
		fmt.Fprintf(&b, " in namespace %q", f.namespace)
	case f.nsText != "":
		fmt.Fprintf(&b, " in namespaces matching %s", shorten(f.nsText))
	}
	if f.selText != "" {
		fmt.Fprintf(&b, " matching %s", shorten(f.selText))
	}
	return b.String()
}

// maxQuoted bounds user text (selectors, names) quoted in a warning: the API server truncates
// warnings, and a warning cut in the middle of the field path is useless.
const maxQuoted = 60

func shorten(s string) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > maxQuoted {
		return string(r[:maxQuoted-1]) + "…"
	}
	return s
}

// namespacedSubject returns the pods a namespaced policy (a NetworkPolicy, or a Kubernetes
// NetworkPolicy's translation) applies to: pods in its namespace matching its selector and, if set,
// its service-account selector (semantics §5.1).
func (w *world) namespacedSubject(namespace string, spec *v1alpha1.PolicySpec) (*podFilter, error) {
	f := &podFilter{namespace: namespace, selText: spec.Selector}
	var err error
	if f.sel, err = w.subjectSelector(spec); err != nil {
		return nil, err
	}
	return f, nil
}

// gnpSubject returns the pods a GlobalNetworkPolicy applies to. Policies that only apply to host
// endpoints (doNotTrack, preDNAT) choose no pod.
func (w *world) gnpSubject(p *v1alpha1.GlobalNetworkPolicy) (*podFilter, error) {
	if p.Spec.DoNotTrack || p.Spec.PreDNAT {
		return &podFilter{none: true}, nil
	}
	f := &podFilter{selText: p.Spec.Selector, nsText: p.Spec.NamespaceSelector}
	var err error
	if f.sel, err = w.subjectSelector(&p.Spec.PolicySpec); err != nil {
		return nil, err
	}
	if p.Spec.NamespaceSelector != "" {
		// Calico rewrites all() to has(projectcalico.org/namespace) here; every pod has that
		// label, so for pods the rewrite changes nothing.
		if f.nsSel, err = w.prefixed(p.Spec.NamespaceSelector, prefixNamespace); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// subjectSelector is a policy's selector and'ed with its pcsa.-prefixed service-account selector.
func (w *world) subjectSelector(spec *v1alpha1.PolicySpec) (selector.Selector, error) {
	sel, err := w.sel.parse(spec.Selector)
	if err != nil {
		return nil, err
	}
	if spec.ServiceAccountSelector == "" {
		return sel, nil
	}
	sa, err := w.prefixed(spec.ServiceAccountSelector, prefixSA)
	if err != nil {
		return nil, err
	}
	return selector.And(sel, sa), nil
}

// peerFilter returns the pods the positive part of an EntityRule matches, following Calico's
// GetEntityRuleSelector (semantics §5.2): the namespace clause applies only when the rule has a
// selector, a notSelector or a namespaceSelector, and a rule with none of them restricts nothing.
// notSelector is ignored, as Felix ignores it when building named-port sets (§5.3).
func (w *world) peerFilter(policyNS string, e *v1alpha1.EntityRule) (*podFilter, error) {
	f := &podFilter{selText: e.Selector}
	if e.NamespaceSelector != "" && selector.IsGlobal(e.NamespaceSelector) {
		return &podFilter{none: true}, nil
	}
	var sels []selector.Selector
	if e.Selector != "" {
		sel, err := w.sel.parse(e.Selector)
		if err != nil {
			return nil, err
		}
		sels = append(sels, sel)
	}
	hasSA := false
	if sa := e.ServiceAccounts; sa != nil {
		if sa.Selector != "" {
			sel, err := w.prefixed(sa.Selector, prefixSA)
			if err != nil {
				return nil, err
			}
			sels = append(sels, sel)
			hasSA = true
		}
		if len(sa.Names) > 0 {
			// Calico matches names through the projectcalico.org/serviceaccount label, which is
			// absent for names of 63 characters or more: such pods never match by name.
			f.saNames = map[string]bool{}
			for _, n := range sa.Names {
				if len(n) < maxSALabelLength {
					f.saNames[n] = true
				}
			}
			hasSA = true
		}
	}
	switch len(sels) {
	case 0:
	case 1:
		f.sel = sels[0]
	default:
		f.sel = selector.AndAll(sels...)
	}
	switch {
	case e.NamespaceSelector != "":
		nsSel, err := w.prefixed(e.NamespaceSelector, prefixNamespace)
		if err != nil {
			return nil, err
		}
		f.nsSel, f.nsText = nsSel, e.NamespaceSelector
	case policyNS != "" && (e.Selector != "" || hasSA || e.NotSelector != ""):
		f.namespace = policyNS
	}
	return f, nil
}

// restricts reports whether the filter chooses fewer than all pods.
func (f *podFilter) restricts() bool {
	return f.none || f.namespace != "" || f.nsSel != nil || f.sel != nil || f.saNames != nil
}
