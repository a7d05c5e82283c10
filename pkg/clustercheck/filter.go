package clustercheck

import (
	"fmt"
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// podFilter chooses pods: the pods a policy applies to, or the pods whose named ports one side of a
// rule resolves against. Which pods is the engine's decision (engine.Selection, compiled from the
// policy as the engine compiles it); the filter adds what a warning needs to name them. A Kubernetes
// NetworkPolicy is read in its pkg/knp translation, as the engine reads it.
type podFilter struct {
	sel *engine.Selection
	// key names the selection by everything it is compiled from (selectors.go).
	key string
	// namespace is the one namespace the selection can hold pods of; "" means any.
	namespace string

	// Text for messages: what the user wrote, not the composed selectors.
	nsText, selText string
}

// none reports whether the filter can match no pod (a policy for host endpoints only, a peer in
// namespaceSelector global()).
func (f *podFilter) none() bool { return f.sel.SelectsNoPod() }

// restricts reports whether the filter may leave a pod out.
func (f *podFilter) restricts() bool { return f.sel.Restricts() }

func (f *podFilter) matches(e *endpoint) bool { return f.sel.Matches(e.view) }

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
// NetworkPolicy's translation) applies to (docs/semantics.md §5.1).
func (w *world) namespacedSubject(namespace string, spec *v1alpha1.PolicySpec) (*podFilter, error) {
	key := namespacedSubjectKey(namespace, spec)
	sel, err := w.sel.get(key, func() (*engine.Selection, error) {
		return engine.NamespacedPolicySubject(namespace, spec)
	})
	if err != nil {
		return nil, err
	}
	return &podFilter{sel: sel, key: key, namespace: sel.Namespace(), selText: spec.Selector}, nil
}

// gnpSubject returns the pods a GlobalNetworkPolicy applies to. Policies that only apply to host
// endpoints (doNotTrack, preDNAT) choose no pod.
func (w *world) gnpSubject(p *v1alpha1.GlobalNetworkPolicy) (*podFilter, error) {
	key := gnpSubjectKey(p)
	sel, err := w.sel.get(key, func() (*engine.Selection, error) {
		return engine.GlobalNetworkPolicySubject(p)
	})
	if err != nil {
		return nil, err
	}
	return &podFilter{sel: sel, key: key, selText: p.Spec.Selector, nsText: p.Spec.NamespaceSelector}, nil
}

// peerFilter returns the pods a named port on side e of a rule resolves against, as the engine
// resolves it (engine.NamedPortPeers, docs/semantics.md §5.2, §5.3): the members of the side's positive
// selector, with its notSelector folded in, or every pod when it has none.
func (w *world) peerFilter(policyNS string, e *v1alpha1.EntityRule) (*podFilter, error) {
	key := peerKey(policyNS, e)
	sel, err := w.sel.get(key, func() (*engine.Selection, error) {
		return engine.NamedPortPeers(policyNS, e)
	})
	if err != nil {
		return nil, err
	}
	f := &podFilter{sel: sel, key: key, namespace: sel.Namespace(), selText: e.Selector}
	if f.namespace == "" {
		f.nsText = e.NamespaceSelector
	}
	return f, nil
}

// pods returns the pods the filter matches, once per check for each selection: rules that share a
// selector share its members.
func (w *world) pods(f *podFilter) []*endpoint {
	if f.none() {
		return nil
	}
	if eps, ok := w.members[f.key]; ok {
		return eps
	}
	var out []*endpoint
	for _, e := range w.endpoints(f.namespace) {
		if !w.spend(1) {
			return nil
		}
		if f.matches(e) {
			out = append(out, e)
		}
	}
	if w.stopped() {
		return nil
	}
	w.members[f.key] = out
	return out
}
