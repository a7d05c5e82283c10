package engine

import (
	"strings"
)

// Label lookup reproduces Felix's label inheritance (semantics doc §1.7): an endpoint's own labels
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
	if val, ok := v.ep.labels[k]; ok {
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

// ownLabels returns the pod's labels with the Calico labels written over them (semantics doc
// §1.7, workload_endpoint_default.go).
func ownLabels(ep *Endpoint) map[string]string {
	out := make(map[string]string, len(ep.Labels)+3)
	for k, v := range ep.Labels {
		out[k] = v
	}
	out[LabelNamespace] = ep.Namespace
	out[LabelOrchestrator] = "k8s"
	if ep.ServiceAccount != "" && len(ep.ServiceAccount) < maxServiceAccountLabelLen {
		out[LabelServiceAccount] = ep.ServiceAccount
	}
	return out
}
