package clustercheck

import (
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// Checker runs the cluster checks against a Lister. It holds no per-request state and is safe for
// concurrent use. Selectors may be nil; it then parses every selector on every call.
type Checker struct {
	Lister    Lister
	Selectors *SelectorCache
}

// Kinds as Felix names them in its tie-break key (semantics §5.5).
const (
	kindNP  = "NetworkPolicy"
	kindGNP = "GlobalNetworkPolicy"
	kindKNP = "KubernetesNetworkPolicy"
)

// policyID identifies a policy in Felix's order: same order, then byte-wise name/namespace/kind.
type policyID struct{ kind, namespace, name string }

func (id policyID) key() string { return id.name + "/" + id.namespace + "/" + id.kind }

// String names the policy in a warning: `NetworkPolicy shop/web`, `GlobalNetworkPolicy base`.
func (id policyID) String() string {
	kind := id.kind
	if kind == kindKNP {
		kind = "Kubernetes NetworkPolicy"
	}
	if id.namespace == "" {
		return kind + " " + id.name
	}
	return kind + " " + id.namespace + "/" + id.name
}

// NetworkPolicy returns the cluster findings for a namespaced policy that passed validation. An error
// means the cluster view could not be read; the findings are then unknown, not empty.
func (c *Checker) NetworkPolicy(p *v1alpha1.NetworkPolicy) ([]validation.Warning, error) {
	w := newWorld(c.Lister, c.Selectors)
	subject, err := w.npSubject(p)
	if err != nil {
		return nil, err
	}
	id := policyID{kindNP, p.Namespace, p.Name}
	return w.palisadePolicy(id, &p.Spec.PolicySpec, subject)
}

// GlobalNetworkPolicy returns the cluster findings for a cluster-wide policy that passed validation.
func (c *Checker) GlobalNetworkPolicy(p *v1alpha1.GlobalNetworkPolicy) ([]validation.Warning, error) {
	w := newWorld(c.Lister, c.Selectors)
	subject, err := w.gnpSubject(p)
	if err != nil {
		return nil, err
	}
	id := policyID{kindGNP, "", p.Name}
	if subject.none {
		// doNotTrack and preDNAT policies apply to host endpoints, which this view does not hold:
		// every pod-based finding would be a false alarm.
		return nil, nil
	}
	return w.palisadePolicy(id, &p.Spec.PolicySpec, subject)
}

// KubernetesNetworkPolicy returns the findings for a networking.k8s.io/v1 NetworkPolicy: named ports
// no candidate pod declares and the egress DNS trap.
func (c *Checker) KubernetesNetworkPolicy(p *networkingv1.NetworkPolicy) ([]validation.Warning, error) {
	w := newWorld(c.Lister, c.Selectors)
	subject, err := knpSubject(p)
	if err != nil {
		return nil, err
	}
	selected := w.pods(subject)
	warns, err := w.knpNamedPorts(p, subject, selected)
	if err != nil {
		return nil, err
	}
	if _, egress := knpGoverns(&p.Spec); egress && !knpAllowsDNS(&p.Spec) {
		id := policyID{kindKNP, p.Namespace, p.Name}
		warns = appendIf(warns, w.dnsWarning(field.NewPath("spec", "policyTypes"), id, selected))
	}
	if w.err != nil {
		return nil, w.err
	}
	return warns, nil
}

func (w *world) palisadePolicy(id policyID, spec *v1alpha1.PolicySpec, subject *podFilter) ([]validation.Warning, error) {
	selected := w.pods(subject)
	var warns []validation.Warning
	if len(selected) == 0 && w.err == nil {
		warns = append(warns, validation.Warning{
			Field:   "spec.selector",
			Message: "no " + subject.describe() + " exists today, so the policy applies to nothing yet",
		})
	}
	named, err := w.namedPorts(id.namespace, spec, subject, selected)
	if err != nil {
		return nil, err
	}
	warns = append(warns, named...)
	ties, err := w.ties(id, spec, selected)
	if err != nil {
		return nil, err
	}
	warns = append(warns, ties...)
	if _, egress := governs(spec); egress && !policyAllowsDNS(spec) {
		warns = appendIf(warns, w.dnsWarning(field.NewPath("spec", "types"), id, selected))
	}
	if w.err != nil {
		return nil, w.err
	}
	return warns, nil
}

func appendIf(warns []validation.Warning, w *validation.Warning) []validation.Warning {
	if w == nil {
		return warns
	}
	return append(warns, *w)
}
