package clustercheck

import (
	"context"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// world memoizes what one check reads from the Lister, so that every list is read once per admission
// request however many selectors are evaluated, and what it computes from it (the members of a
// selection, the named ports they declare), so that rules sharing a selector share the work. The
// first Lister error is kept in err; from then on every accessor returns nothing and the entry point
// reports the error instead of findings that would rest on a partial view. Every unit of work is
// charged to b; once it runs out every accessor returns nothing as well, and the entry point returns
// the findings of the checks that finished before with a CutShortError. A world is used by one
// goroutine.
type world struct {
	l            Lister
	sel          *SelectorCache
	translations *TranslationCache
	err          error
	b            *budget
	// done names the checks that finished (CutShortError.Done).
	done []string

	// members are the pods of a selection by its key; declared the named ports they declare.
	members  map[string][]*endpoint
	declared map[string]map[declaredPort]bool

	podsByNS   map[string][]*endpoint
	namespaces map[string]*engine.NamespaceProfile
	sas        map[string]map[string]*engine.ServiceAccountProfile // namespace → name → profile
	allSAs     bool                                                // sas holds every namespace
	nps        map[string][]*v1alpha1.NetworkPolicy
	gnps       []*v1alpha1.GlobalNetworkPolicy
	gnpsLoaded bool
	knps       map[string][]*kubernetesPolicy
}

func newWorld(ctx context.Context, c *Checker) *world {
	return &world{
		b:            newBudget(ctx, c.MaxWork),
		members:      map[string][]*endpoint{},
		declared:     map[string]map[declaredPort]bool{},
		l:            c.Lister,
		sel:          c.Selectors,
		translations: c.Translations,
		podsByNS:     map[string][]*endpoint{},
		sas:          map[string]map[string]*engine.ServiceAccountProfile{},
		nps:          map[string][]*v1alpha1.NetworkPolicy{},
		knps:         map[string][]*kubernetesPolicy{},
	}
}

// fail records a Lister error and reports whether the world has stopped. An error while the context
// is done is the context's doing: the check was cut short, the view is not broken.
func (w *world) fail(err error) bool {
	if err != nil && !w.stopped() {
		if ctxErr := w.b.ctx.Err(); ctxErr != nil {
			w.b.cut = ctxErr
		} else {
			w.err = err
		}
	}
	return w.stopped()
}

// stopped reports whether the world reads and computes nothing more: the view failed or the budget
// ran out.
func (w *world) stopped() bool { return w.err != nil || w.b.cut != nil }

// spend charges n units of work and reports whether the check may go on.
func (w *world) spend(n int) bool { return w.err == nil && w.b.spend(n) }

// finished records that the check named name finished, and reports whether the world goes on.
func (w *world) finished(name string) bool {
	if w.stopped() {
		return false
	}
	w.done = append(w.done, name)
	return true
}

// endpoints returns the pods of namespace ("" for all) seen through the engine's label view.
func (w *world) endpoints(namespace string) []*endpoint {
	if w.stopped() {
		return nil
	}
	if eps, ok := w.podsByNS[namespace]; ok {
		return eps
	}
	pods, err := w.l.Pods(namespace)
	if w.fail(err) {
		return nil
	}
	if namespace == "" {
		w.loadAllServiceAccounts()
	}
	eps := make([]*endpoint, len(pods))
	for i := range pods {
		if !w.spend(1) {
			return nil
		}
		p := pods[i]
		eps[i] = &endpoint{view: engine.NewPodView(*p, w.namespaceProfile(p.Namespace), w.saProfile(p.Namespace, p.ServiceAccount))}
	}
	if w.stopped() {
		return nil
	}
	w.podsByNS[namespace] = eps
	return eps
}

// namespaceProfile returns what a namespace gives its pods; nil when no Namespace object is known,
// and the pods then inherit no namespace label, as in the engine.
func (w *world) namespaceProfile(name string) *engine.NamespaceProfile {
	if w.stopped() {
		return nil
	}
	if w.namespaces == nil {
		nss, err := w.l.Namespaces()
		if w.fail(err) || !w.spend(len(nss)) {
			return nil
		}
		w.namespaces = make(map[string]*engine.NamespaceProfile, len(nss))
		for _, ns := range nss {
			w.namespaces[ns.Name] = engine.NewNamespaceProfile(ns)
		}
	}
	return w.namespaces[name]
}

// saProfile returns what a service account gives its pods; nil when it is unset or unknown.
func (w *world) saProfile(namespace, name string) *engine.ServiceAccountProfile {
	if w.stopped() || name == "" {
		return nil
	}
	byName, ok := w.sas[namespace]
	if !ok && !w.allSAs {
		sas, err := w.l.ServiceAccounts(namespace)
		if w.fail(err) || !w.spend(len(sas)) {
			return nil
		}
		byName = make(map[string]*engine.ServiceAccountProfile, len(sas))
		for _, sa := range sas {
			byName[sa.Name] = engine.NewServiceAccountProfile(sa)
		}
		w.sas[namespace] = byName
	}
	return byName[name]
}

// loadAllServiceAccounts reads the service accounts of every namespace at once, for a view of the
// pods of every namespace.
func (w *world) loadAllServiceAccounts() {
	if w.allSAs || w.stopped() {
		return
	}
	sas, err := w.l.ServiceAccounts("")
	if w.fail(err) || !w.spend(len(sas)) {
		return
	}
	byNS := map[string]map[string]*engine.ServiceAccountProfile{}
	for _, sa := range sas {
		if byNS[sa.Namespace] == nil {
			byNS[sa.Namespace] = map[string]*engine.ServiceAccountProfile{}
		}
		byNS[sa.Namespace][sa.Name] = engine.NewServiceAccountProfile(sa)
	}
	w.sas, w.allSAs = byNS, true
}

func (w *world) networkPolicies(namespace string) []*v1alpha1.NetworkPolicy {
	if w.stopped() {
		return nil
	}
	if nps, ok := w.nps[namespace]; ok {
		return nps
	}
	nps, err := w.l.NetworkPolicies(namespace)
	if w.fail(err) || !w.spend(len(nps)) {
		return nil
	}
	w.nps[namespace] = nps
	return nps
}

func (w *world) globalNetworkPolicies() []*v1alpha1.GlobalNetworkPolicy {
	if w.stopped() || w.gnpsLoaded {
		return w.gnps
	}
	gnps, err := w.l.GlobalNetworkPolicies()
	if w.fail(err) || !w.spend(len(gnps)) {
		return nil
	}
	w.gnps, w.gnpsLoaded = gnps, true
	return gnps
}

// kubernetesNetworkPolicies returns the Kubernetes NetworkPolicies of namespace, translated, each
// once per check. One that does not translate, which the API server would not have stored, is left
// out, as invalid stored policies are everywhere in these checks.
func (w *world) kubernetesNetworkPolicies(namespace string) []*kubernetesPolicy {
	if w.stopped() {
		return nil
	}
	if knps, ok := w.knps[namespace]; ok {
		return knps
	}
	stored, err := w.l.KubernetesNetworkPolicies(namespace)
	if w.fail(err) || !w.spend(len(stored)) {
		return nil
	}
	knps := make([]*kubernetesPolicy, 0, len(stored))
	for _, p := range stored {
		if k, err := w.translations.translate(p); err == nil {
			knps = append(knps, k)
		}
	}
	w.knps[namespace] = knps
	return knps
}

// endpoint is a pod seen through the engine's label view (engine.PodView), so that policy selectors
// written against projectcalico.org/* labels and pcns./pcsa. inheritance evaluate as the engine, and
// Felix, evaluate them.
type endpoint struct {
	view *engine.PodView
}

func (e *endpoint) pod() *engine.Endpoint { return e.view.Endpoint() }

// protocolName names the protocol of a named port as a rule's protocol names it.
func protocolName(p uint8) string {
	switch p {
	case engine.ProtoUDP:
		return "UDP"
	case engine.ProtoSCTP:
		return "SCTP"
	}
	return "TCP"
}
