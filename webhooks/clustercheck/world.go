package clustercheck

import (
	"strings"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Label keys Calico gives every workload endpoint, and the prefixes under which an endpoint inherits
// its namespace's and service account's labels (semantics §1.6, §1.7).
const (
	labelNamespace      = "projectcalico.org/namespace"
	labelOrchestrator   = "projectcalico.org/orchestrator"
	labelServiceAccount = "projectcalico.org/serviceaccount"
	labelName           = "projectcalico.org/name"
	prefixNamespace     = "pcns."
	prefixSA            = "pcsa."
	// maxSALabelLength: Calico sets the service-account label only for names shorter than this.
	maxSALabelLength = 63
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
	namespaces map[string]map[string]string
	sas        map[string]map[string]map[string]string // namespace → name → labels
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
		sas:          map[string]map[string]map[string]string{},
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

// endpoints returns the pods of namespace ("" for all) as endpoints whose labels selectors can test.
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
	eps := make([]*endpoint, len(pods))
	for i := range pods {
		eps[i] = &endpoint{w: w, pod: &pods[i]}
	}
	w.podsByNS[namespace] = eps
	return eps
}

// namespaceLabels returns the labels of a namespace; nil when it is unknown.
func (w *world) namespaceLabels(name string) map[string]string {
	if w.err != nil {
		return nil
	}
	if w.namespaces == nil {
		nss, err := w.l.Namespaces()
		if w.fail(err) {
			return nil
		}
		w.namespaces = make(map[string]map[string]string, len(nss))
		for _, ns := range nss {
			w.namespaces[ns.Name] = ns.Labels
		}
	}
	return w.namespaces[name]
}

// saLabels returns the labels of a service account and whether it exists.
func (w *world) saLabels(namespace, name string) (map[string]string, bool) {
	if w.err != nil {
		return nil, false
	}
	byName, ok := w.sas[namespace]
	if !ok {
		sas, err := w.l.ServiceAccounts(namespace)
		if w.fail(err) {
			return nil, false
		}
		byName = make(map[string]map[string]string, len(sas))
		for _, sa := range sas {
			byName[sa.Name] = sa.Labels
		}
		w.sas[namespace] = byName
	}
	l, ok := byName[name]
	return l, ok
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

// endpoint is a pod seen through Calico's label model, so that policy selectors written against
// projectcalico.org/* labels and pcns./pcsa. inheritance evaluate as Felix evaluates them. It
// implements selector.Labels.
type endpoint struct {
	w   *world
	pod *Pod
}

// Get looks a key up as Felix does: the labels Calico sets win over the pod's own labels (Calico
// writes them last), the pod's labels win over inherited profile labels (semantics §1.7).
func (e *endpoint) Get(key string) (string, bool) {
	switch key {
	case labelNamespace:
		return e.pod.Namespace, true
	case labelOrchestrator:
		return "k8s", true
	case labelServiceAccount:
		if sa := e.pod.ServiceAccount; sa != "" && len(sa) < maxSALabelLength {
			return sa, true
		}
	}
	if v, ok := e.pod.Labels[key]; ok {
		return v, true
	}
	if k, ok := strings.CutPrefix(key, prefixNamespace); ok {
		if k == labelName {
			return e.pod.Namespace, true
		}
		v, ok := e.w.namespaceLabels(e.pod.Namespace)[k]
		return v, ok
	}
	if k, ok := strings.CutPrefix(key, prefixSA); ok && e.pod.ServiceAccount != "" {
		labels, exists := e.w.saLabels(e.pod.Namespace, e.pod.ServiceAccount)
		if !exists {
			return "", false
		}
		if k == labelName {
			return e.pod.ServiceAccount, true
		}
		v, ok := labels[k]
		return v, ok
	}
	return "", false
}

// declares reports whether the pod has a container port named name for protocol proto ("" = any).
func (e *endpoint) declares(name, proto string) bool {
	for _, p := range e.pod.Ports {
		if p.Name == name && (proto == "" || p.Protocol == proto) {
			return true
		}
	}
	return false
}
