package engine

import (
	"strings"
)

// Label lookup reproduces Felix's label inheritance (docs/semantics.md §1.7): an endpoint's own labels
// (the pod's labels with the Calico labels written over them) come first, then the labels of its
// parent profiles in order: kns.<namespace> (pcns.<key> for every namespace label, plus
// pcns.projectcalico.org/name) and ksa.<namespace>.<sa> (pcsa.<key>, plus
// pcsa.projectcalico.org/name). The first hit wins, so a pod's own label "pcns.x" shadows the
// namespace label x, exactly as in Felix.
//
// Calico implements namespaceSelector and serviceAccounts.selector by prefixing every label key of
// the selector with pcns. / pcsa. and evaluating the result on these labels. The engine evaluates
// the unprefixed selector on nsView / saView instead, whose Get(k) is the pod view's
// Get(prefix + k): the same answer without rewriting selectors.

// nsRecord is a namespace as stored by the engine; labels include kubernetes.io/metadata.name.
type nsRecord struct {
	name   string
	labels map[string]string
}

// saRecord is a service account as stored by the engine.
type saRecord struct {
	name   string
	labels map[string]string
}

// podView is the label set Felix evaluates selectors on for one pod.
type podView struct {
	ep *endpoint
	ns *nsRecord // nil when the namespace is unknown
	sa *saRecord // nil when the service account is unknown or unset
}

// Get implements selector.Labels.
func (v *podView) Get(k string) (string, bool) {
	if v.ep.labels != nil {
		if val, ok := v.ep.labels[k]; ok {
			return val, true
		}
	} else if val, ok := ownLabel(&v.ep.spec, k); ok {
		// A PodView (below) answers the pod's own labels without the merged map.
		return val, true
	}
	if rest, ok := strings.CutPrefix(k, namespaceLabelPrefix); ok {
		if v.ns == nil {
			return "", false
		}
		if rest == profileNameLabel {
			return v.ns.name, true
		}
		val, ok := v.ns.labels[rest]
		return val, ok
	}
	if rest, ok := strings.CutPrefix(k, serviceAccountLabelPrefix); ok {
		if v.sa == nil {
			return "", false
		}
		if rest == profileNameLabel {
			return v.sa.name, true
		}
		val, ok := v.sa.labels[rest]
		return val, ok
	}
	return "", false
}

// nsView evaluates a namespace selector for a pod: key k is looked up as pcns.<k>.
type nsView struct{ p *podView }

// Get implements selector.Labels.
func (v nsView) Get(k string) (string, bool) { return v.p.Get(namespaceLabelPrefix + k) }

// saView evaluates a service-account selector for a pod: key k is looked up as pcsa.<k>.
type saView struct{ p *podView }

// Get implements selector.Labels.
func (v saView) Get(k string) (string, bool) { return v.p.Get(serviceAccountLabelPrefix + k) }

// calicoLabelKeys are the labels Calico writes over a pod's own (docs/semantics.md §1.7,
// workload_endpoint_default.go); calicoLabel gives their values.
var calicoLabelKeys = [...]string{LabelNamespace, LabelOrchestrator, LabelServiceAccount}

// calicoLabel returns the value Calico gives label k of a pod, and false for a label Calico does
// not set: projectcalico.org/serviceaccount only for a service account name shorter than 63
// characters.
func calicoLabel(ep *Endpoint, k string) (string, bool) {
	switch k {
	case LabelNamespace:
		return ep.Namespace, true
	case LabelOrchestrator:
		return "k8s", true
	case LabelServiceAccount:
		if ep.ServiceAccount != "" && len(ep.ServiceAccount) < maxServiceAccountLabelLen {
			return ep.ServiceAccount, true
		}
	}
	return "", false
}

// ownLabel looks label k up among the pod's labels with the Calico labels written over them,
// without building the map ownLabels builds.
func ownLabel(ep *Endpoint, k string) (string, bool) {
	if v, ok := calicoLabel(ep, k); ok {
		return v, true
	}
	v, ok := ep.Labels[k]
	return v, ok
}

// ownLabels returns the pod's labels with the Calico labels written over them (docs/semantics.md
// §1.7, workload_endpoint_default.go).
func ownLabels(ep *Endpoint) map[string]string {
	out := make(map[string]string, len(ep.Labels)+len(calicoLabelKeys))
	for k, v := range ep.Labels {
		out[k] = v
	}
	for _, k := range calicoLabelKeys {
		if v, ok := calicoLabel(ep, k); ok {
			out[k] = v
		}
	}
	return out
}

// The exported views below serve callers that hold their own copy of the cluster instead of an
// Engine (the admission checks, pkg/clustercheck): they evaluate selectors through the very podView
// the engine uses, so the two cannot disagree about what a label lookup returns.

// NamespaceProfile is what a namespace gives its pods to inherit (kns.<name>: pcns.<key> and
// pcns.projectcalico.org/name), as UpsertNamespace stores it. It is immutable.
type NamespaceProfile struct{ rec nsRecord }

// NewNamespaceProfile returns the profile of ns, adding kubernetes.io/metadata.name=<name> as
// UpsertNamespace does. ns.Labels is copied.
func NewNamespaceProfile(ns Namespace) *NamespaceProfile {
	labels := make(map[string]string, len(ns.Labels)+1)
	for k, v := range ns.Labels {
		labels[k] = v
	}
	labels[LabelMetadataName] = ns.Name
	return &NamespaceProfile{rec: nsRecord{name: ns.Name, labels: labels}}
}

// ServiceAccountProfile is what a service account gives its pods to inherit (ksa.<ns>.<name>:
// pcsa.<key> and pcsa.projectcalico.org/name), as UpsertServiceAccount stores it. It is immutable.
type ServiceAccountProfile struct {
	namespace string
	rec       saRecord
}

// NewServiceAccountProfile returns the profile of sa. sa.Labels is not copied: it must not change
// while the profile is in use.
func NewServiceAccountProfile(sa ServiceAccount) *ServiceAccountProfile {
	return &ServiceAccountProfile{namespace: sa.Namespace, rec: saRecord{name: sa.Name, labels: sa.Labels}}
}

// PodView is the label set Felix evaluates selectors on for one pod (the pod's labels, the Calico
// labels written over them, then the labels inherited from its namespace and service account),
// built without an Engine. It implements selector.Labels and is what Selection.Matches takes. It
// is immutable and safe for concurrent reads.
type PodView struct {
	ep   endpoint
	view podView
}

// NewPodView returns the view of ep. ns is the profile of ep's namespace, nil when no Namespace
// object is known (the pod then inherits no pcns. label at all, as in the engine and in Felix,
// whose kns. profile does not exist); sa is the profile of ep's service account, nil when it is
// unknown or unset. A profile of another namespace or service account is ignored. ep's maps and
// slices are not copied: they must not change while the view is in use.
func NewPodView(ep Endpoint, ns *NamespaceProfile, sa *ServiceAccountProfile) *PodView {
	// labels stays nil: the view looks the pod's own labels up with ownLabel, which saves building
	// a map per pod for callers that build a view of every pod on every request.
	p := &PodView{ep: endpoint{ref: ep.Ref(), spec: ep}}
	_, p.ep.hasSALabel = ownLabel(&ep, LabelServiceAccount)
	p.view.ep = &p.ep
	if ns != nil && ns.rec.name == ep.Namespace {
		p.view.ns = &ns.rec
	}
	if sa != nil && ep.ServiceAccount != "" && sa.namespace == ep.Namespace && sa.rec.name == ep.ServiceAccount {
		p.view.sa = &sa.rec
	}
	return p
}

// Get implements selector.Labels.
func (p *PodView) Get(k string) (string, bool) { return p.view.Get(k) }

// Endpoint returns the pod the view was built from. Callers must not modify it.
func (p *PodView) Endpoint() *Endpoint { return &p.ep.spec }
