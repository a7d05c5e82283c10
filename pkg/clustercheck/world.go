package clustercheck

import (
	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// world memoizes what one check reads from the Lister, so that every list is read once per admission
// request however many selectors are evaluated. The first Lister error is kept in err; from then on
// every accessor returns nothing and the entry point reports the error instead of findings that
// would rest on a partial view. A world is used by one goroutine.
type world struct {
	l            Lister
	sel          *SelectorCache
	translations *TranslationCache
	err          error

	podsByNS   map[string][]*endpoint
	namespaces map[string]*engine.NamespaceProfile
	sas        map[string]map[string]*engine.ServiceAccountProfile // namespace → name → profile
	allSAs     bool                                                // sas holds every namespace
	nps        map[string][]*v1alpha1.NetworkPolicy
	gnps       []*v1alpha1.GlobalNetworkPolicy
	gnpsLoaded bool
	knps       map[string][]*kubernetesPolicy
}

func newWorld(c *Checker) *world {
	return &world{
		l:            c.Lister,
		sel:          c.Selectors,
		translations: c.Translations,
		podsByNS:     map[string][]*endpoint{},
		sas:          map[string]map[string]*engine.ServiceAccountProfile{},
		nps:          map[string][]*v1alpha1.NetworkPolicy{},
		knps:         map[string][]*kubernetesPolicy{},
	}
}

func (w *world) fail(err error) bool {
	if err != nil && w.err == nil {
		w.err = err
	}
	return w.err != nil
}

// endpoints returns the pods of namespace ("" for all) seen through the engine's label view.
func (w *world) endpoints(namespace string) []*endpoint {
	if w.err != nil {
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
		p := &pods[i]
		eps[i] = &endpoint{view: engine.NewPodView(*p, w.namespaceProfile(p.Namespace), w.saProfile(p.Namespace, p.ServiceAccount))}
	}
	if w.err != nil {
		return nil
	}
	w.podsByNS[namespace] = eps
	return eps
}

// namespaceProfile returns what a namespace gives its pods; nil when no Namespace object is known,
// and the pods then inherit no namespace label, as in the engine.
func (w *world) namespaceProfile(name string) *engine.NamespaceProfile {
	if w.err != nil {
		return nil
	}
	if w.namespaces == nil {
		nss, err := w.l.Namespaces()
		if w.fail(err) {
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
	if w.err != nil || name == "" {
		return nil
	}
	byName, ok := w.sas[namespace]
	if !ok && !w.allSAs {
		sas, err := w.l.ServiceAccounts(namespace)
		if w.fail(err) {
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
	if w.allSAs || w.err != nil {
		return
	}
	sas, err := w.l.ServiceAccounts("")
	if w.fail(err) {
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
	if w.err != nil {
		return nil
	}
	if nps, ok := w.nps[namespace]; ok {
		return nps
	}
	nps, err := w.l.NetworkPolicies(namespace)
	if w.fail(err) {
		return nil
	}
	w.nps[namespace] = nps
	return nps
}

func (w *world) globalNetworkPolicies() []*v1alpha1.GlobalNetworkPolicy {
	if w.err != nil || w.gnpsLoaded {
		return w.gnps
	}
	gnps, err := w.l.GlobalNetworkPolicies()
	if w.fail(err) {
		return nil
	}
	w.gnps, w.gnpsLoaded = gnps, true
	return gnps
}

// kubernetesNetworkPolicies returns the Kubernetes NetworkPolicies of namespace, translated, each
// once per check. One that does not translate, which the API server would not have stored, is left
// out, as invalid stored policies are everywhere in these checks.
func (w *world) kubernetesNetworkPolicies(namespace string) []*kubernetesPolicy {
	if w.err != nil {
		return nil
	}
	if knps, ok := w.knps[namespace]; ok {
		return knps
	}
	stored, err := w.l.KubernetesNetworkPolicies(namespace)
	if w.fail(err) {
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

// declares reports whether the pod has a container port named name for protocol proto ("" = any).
func (e *endpoint) declares(name, proto string) bool {
	for _, p := range e.pod().Ports {
		if p.Name == name && (proto == "" || protocolName(p.Protocol) == proto) {
			return true
		}
	}
	return false
}

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
