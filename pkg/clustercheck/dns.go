package clustercheck

import (
	"fmt"
	"slices"
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// maxNamedNamespaces bounds how many namespaces a warning names.
const maxNamedNamespaces = 2

// dns warns about a policy that governs egress and allows no DNS itself. Every pod it selects is then
// denied egress by default unless another policy allows DNS for it; dns reports the pods for which no
// policy does. It returns nil when there is nothing to report, including when the policy selects no
// pod (that has its own warning, and there is no pod to check).
//
// Any egress rule of any policy selecting the pod that could allow DNS counts as a path, even one
// evaluated after a Deny that would stop the query first: telling that apart needs the engine, and a
// missed warning costs less than a false one.
func (w *world) dns(p *checked, selected []*endpoint) *validation.Warning {
	if _, egress := governs(p.spec); !egress || policyAllowsDNS(p.spec) || len(selected) == 0 {
		return nil
	}
	providers := w.dnsProviders(p.id, selected)
	var lacking []*endpoint
	for _, e := range selected {
		if !w.spend(len(providers)) {
			return nil
		}
		if !slices.ContainsFunc(providers, func(f *podFilter) bool { return f.matches(e) }) {
			lacking = append(lacking, e)
		}
	}
	if len(lacking) == 0 || w.stopped() {
		return nil
	}
	return &validation.Warning{
		Field: p.typesField().String(),
		Message: fmt.Sprintf("egress is denied by default for %s %s and no policy allows them DNS (port 53)",
			plural(len(lacking), "pod"), inNamespaces(lacking)),
	}
}

// dnsProviders returns the pods-filters of every other policy that could allow DNS to some of the
// selected pods: Palisade policies in their namespaces and cluster-wide, and Kubernetes
// NetworkPolicies in their namespaces.
func (w *world) dnsProviders(self policyID, selected []*endpoint) []*podFilter {
	var namespaces []string
	for _, e := range selected {
		if !slices.Contains(namespaces, e.pod().Namespace) {
			namespaces = append(namespaces, e.pod().Namespace)
		}
	}
	var providers []*podFilter
	for _, ns := range namespaces {
		for _, np := range w.networkPolicies(ns) {
			providers = w.appendProvider(providers, self, policyID{kindNP, np.Namespace, np.Name}, &np.Spec.PolicySpec)
		}
		for _, k := range w.kubernetesNetworkPolicies(ns) {
			providers = w.appendProvider(providers, self, k.id(), &k.Spec)
		}
	}
	for _, gnp := range w.globalNetworkPolicies() {
		if (policyID{kindGNP, "", gnp.Name}) == self {
			continue
		}
		if _, egress := governs(&gnp.Spec.PolicySpec); !egress || !policyAllowsDNS(&gnp.Spec.PolicySpec) {
			continue
		}
		if f, err := w.gnpSubject(gnp); err == nil && !f.none() {
			providers = append(providers, f)
		}
	}
	return providers
}

// appendProvider appends the pods of a namespaced policy other than self that could allow them DNS.
func (w *world) appendProvider(providers []*podFilter, self, id policyID, spec *v1alpha1.PolicySpec) []*podFilter {
	if id == self {
		return providers
	}
	if _, egress := governs(spec); !egress || !policyAllowsDNS(spec) {
		return providers
	}
	if f, err := w.namespacedSubject(id.namespace, spec); err == nil {
		providers = append(providers, f)
	}
	return providers
}

// inNamespaces names the namespaces of pods: `in namespace "a"`, `in namespaces "a", "b" and 3 more`.
func inNamespaces(eps []*endpoint) string {
	var names []string
	for _, e := range eps {
		if !slices.Contains(names, e.pod().Namespace) {
			names = append(names, e.pod().Namespace)
		}
	}
	slices.Sort(names)
	if len(names) == 1 {
		return fmt.Sprintf("in namespace %q", names[0])
	}
	quoted := make([]string, 0, maxNamedNamespaces)
	for _, n := range names[:min(len(names), maxNamedNamespaces)] {
		quoted = append(quoted, fmt.Sprintf("%q", shorten(n)))
	}
	s := "in namespaces " + strings.Join(quoted, ", ")
	if rest := len(names) - len(quoted); rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}
