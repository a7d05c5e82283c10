package clustercheck

import (
	"context"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// Checker runs the cluster checks against a Lister. It holds no per-request state and is safe for
// concurrent use. Selectors may be nil; it then compiles every selector on every call. Translations
// may be nil; it then translates every stored Kubernetes NetworkPolicy it reads on every call.
//
// Every call is bounded: by MaxWork units of work (DefaultMaxWork when 0; see there) and by its
// context, which it looks at as it works rather than reading a clock. When either runs out the call
// returns the findings of the checks that finished with a *CutShortError.
type Checker struct {
	Lister       Lister
	Selectors    *SelectorCache
	Translations *TranslationCache
	MaxWork      int
}

// The checks, in the order they run, as CutShortError.Done names them.
const (
	checkSelection  = "selection"
	checkNamedPorts = "named ports"
	checkTies       = "order ties"
	checkDNS        = "DNS"
)

// Kinds as Felix names them in its tie-break key (docs/semantics.md §5.5).
const (
	kindNP  = string(engine.KindNetworkPolicy)
	kindGNP = string(engine.KindGlobalNetworkPolicy)
	kindKNP = string(engine.KindKubernetesNetworkPolicy)
)

// policyID identifies a policy.
type policyID struct{ kind, namespace, name string }

// position is where the policy with spec sits in the engine's evaluation order (docs/semantics.md §5.5).
func (id policyID) position(spec *v1alpha1.PolicySpec) engine.Position {
	return engine.Position{
		Key:   engine.PolicyKey{Kind: engine.PolicyKind(id.kind), Namespace: id.namespace, Name: id.name},
		Tier:  spec.Tier,
		Order: spec.Order,
	}
}

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

// NetworkPolicy returns the cluster findings for a namespaced policy that passed validation. A
// *CutShortError comes with the findings of the checks that finished; any other error means the
// cluster view could not be read, and the findings are then unknown, not empty.
func (c *Checker) NetworkPolicy(ctx context.Context, p *v1alpha1.NetworkPolicy) ([]validation.Warning, error) {
	w := newWorld(ctx, c)
	subject, err := w.namespacedSubject(p.Namespace, &p.Spec.PolicySpec)
	if err != nil {
		return nil, err
	}
	return w.palisadePolicy(&checked{id: policyID{kindNP, p.Namespace, p.Name}, spec: &p.Spec.PolicySpec, subject: subject})
}

// GlobalNetworkPolicy returns the cluster findings for a cluster-wide policy that passed validation.
func (c *Checker) GlobalNetworkPolicy(ctx context.Context, p *v1alpha1.GlobalNetworkPolicy) ([]validation.Warning, error) {
	w := newWorld(ctx, c)
	subject, err := w.gnpSubject(p)
	if err != nil {
		return nil, err
	}
	if subject.none() {
		// doNotTrack and preDNAT policies apply to host endpoints, which this view does not hold:
		// every pod-based finding would be a false alarm.
		return nil, nil
	}
	return w.palisadePolicy(&checked{id: policyID{kindGNP, "", p.Name}, spec: &p.Spec.PolicySpec, subject: subject})
}

// KubernetesNetworkPolicy returns the findings for a networking.k8s.io/v1 NetworkPolicy: named ports
// no candidate pod declares and the egress DNS trap. The policy is checked in its pkg/knp
// translation, by the checks of a Palisade policy, with the findings naming the fields and the
// selectors of the object as written. An error also means the policy is not valid Kubernetes.
func (c *Checker) KubernetesNetworkPolicy(ctx context.Context, p *networkingv1.NetworkPolicy) ([]validation.Warning, error) {
	w := newWorld(ctx, c)
	k, err := translate(p)
	if err != nil {
		return nil, err
	}
	subject, err := w.namespacedSubject(p.Namespace, &k.Spec)
	if err != nil {
		return nil, err
	}
	subject.selText = labelSelectorText(&p.Spec.PodSelector)
	pc := &checked{id: k.id(), spec: &k.Spec, subject: subject, knp: k}
	selected := w.pods(subject)
	if !w.finished(checkSelection) {
		return w.result(nil)
	}
	warns, err := w.namedPorts(pc, selected)
	if err != nil {
		return nil, err
	}
	if !w.finished(checkNamedPorts) {
		return w.result(nil)
	}
	dns := w.dns(pc, selected)
	if !w.finished(checkDNS) {
		return w.result(warns)
	}
	return w.result(appendIf(warns, dns))
}

// checked is the policy being admitted, in the Calico model, with what the findings need to name the
// object as written.
type checked struct {
	id      policyID
	spec    *v1alpha1.PolicySpec
	subject *podFilter
	// knp is the Kubernetes NetworkPolicy that spec translates; nil for a Palisade policy, whose
	// spec is the object as written.
	knp *kubernetesPolicy
}

// portSites returns where the named port read at s was written.
func (p *checked) portSites(s portSite, name, proto string) []portSite {
	if p.knp != nil {
		return p.knp.portSites(s, name, proto)
	}
	return []portSite{s}
}

// portPath is the field a site names: spec.ingress[0].destination.ports[1].
func (p *checked) portPath(s portSite) *field.Path {
	if p.knp != nil {
		return p.knp.portPath(s)
	}
	return field.NewPath("spec", dirNames[s.dir]).Index(s.rule).Child(sideNames[s.side], listNames[s.list]).Index(s.index)
}

// peerPods names the pods the peer side of a rule matches.
func (p *checked) peerPods(dir, rule int, peer *podFilter) string {
	if p.knp != nil {
		return p.knp.peerPods(dir, rule, peer)
	}
	return peer.describe()
}

// typesField is the field that says which directions the policy governs.
func (p *checked) typesField() *field.Path {
	if p.knp != nil {
		return field.NewPath("spec", "policyTypes")
	}
	return field.NewPath("spec", "types")
}

// palisadePolicy runs the checks one after the other. The findings of a check the budget cut short
// are dropped: they would rest on part of the pods.
func (w *world) palisadePolicy(p *checked) ([]validation.Warning, error) {
	selected := w.pods(p.subject)
	if !w.finished(checkSelection) {
		return w.result(nil)
	}
	var warns []validation.Warning
	if len(selected) == 0 {
		warns = append(warns, validation.Warning{
			Field:   "spec.selector",
			Message: "no " + p.subject.describe() + " exists today, so the policy applies to nothing yet",
		})
	}
	named, err := w.namedPorts(p, selected)
	if err != nil {
		return nil, err
	}
	if !w.finished(checkNamedPorts) {
		return w.result(warns)
	}
	warns = append(warns, named...)
	ties, err := w.ties(p.id, p.spec, selected)
	if err != nil {
		return nil, err
	}
	if !w.finished(checkTies) {
		return w.result(warns)
	}
	warns = append(warns, ties...)
	dns := w.dns(p, selected)
	if !w.finished(checkDNS) {
		return w.result(warns)
	}
	return w.result(appendIf(warns, dns))
}

// result returns the findings, or the first error reading the cluster, on which they may rest. When
// the budget ran out it returns them with a CutShortError.
func (w *world) result(warns []validation.Warning) ([]validation.Warning, error) {
	switch {
	case w.err != nil:
		return nil, w.err
	case w.b.cut != nil:
		return warns, &CutShortError{Done: w.done, Work: w.b.spent, Cause: w.b.cut}
	}
	return warns, nil
}

func appendIf(warns []validation.Warning, w *validation.Warning) []validation.Warning {
	if w == nil {
		return warns
	}
	return append(warns, *w)
}
