package suggest

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
)

// Pod is a pod at one end of a flow, as far as a suggestion needs it.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	// ServiceAccount is the pod's service account; "default" when empty, as the API server sets it.
	ServiceAccount string
}

// Peer is one end of a flow: a pod, or an address that is not a known pod.
type Peer struct {
	Pod  *Pod
	Addr netip.Addr
}

// ParsePeer reads a flow end as NodeReports write it: "namespace/pod" or an IP address. It returns
// the pod's reference (namespace, name) or the address.
func ParsePeer(s string) (namespace, name string, addr netip.Addr, err error) {
	if a, aerr := netip.ParseAddr(s); aerr == nil {
		return "", "", a.Unmap(), nil
	}
	ns, n, ok := strings.Cut(s, "/")
	if !ok || ns == "" || n == "" || strings.Contains(n, "/") {
		return "", "", netip.Addr{}, fmt.Errorf("flow end %q is neither namespace/pod nor an IP address", s)
	}
	return ns, n, netip.Addr{}, nil
}

// preferredLabels are the labels that name what a pod is rather than which replica it is, most
// telling first. When a pod has any of them, a suggestion selects it by those only.
var preferredLabels = []string{
	"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/component",
	"app", "k8s-app", "name", "component",
}

// volatileLabels change with every rollout or replica; a rule selecting them would stop matching
// after the next deployment.
var volatileLabels = map[string]bool{
	"pod-template-hash": true, "controller-revision-hash": true, "pod-template-generation": true,
	"statefulset.kubernetes.io/pod-name": true, "apps.kubernetes.io/pod-index": true,
	"controller-uid": true, "batch.kubernetes.io/controller-uid": true,
	"job-name": true, "batch.kubernetes.io/job-name": true, "batch.kubernetes.io/job-completion-index": true,
}

// stableLabels returns the labels a suggestion selects a pod by, sorted by key.
func stableLabels(labels map[string]string) []string {
	var keys []string
	for _, k := range preferredLabels {
		if _, ok := labels[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		for k := range labels {
			if !volatileLabels[k] {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// selectorFor is the Calico selector matching the pod's stable labels; "all()" when it has none.
// Label values are limited by Kubernetes to [A-Za-z0-9._-], so single quotes never need escaping.
func selectorFor(p *Pod) (sel string, broad bool) {
	keys := stableLabels(p.Labels)
	if len(keys) == 0 {
		return "all()", true
	}
	terms := make([]string, len(keys))
	for i, k := range keys {
		terms[i] = fmt.Sprintf("%s == '%s'", k, p.Labels[k])
	}
	return strings.Join(terms, " && "), false
}

// namespaceSelectorFor pins a namespace by the label the API server sets on every namespace.
func namespaceSelectorFor(ns string) string {
	return fmt.Sprintf("kubernetes.io/metadata.name == '%s'", ns)
}

func (p Peer) String() string {
	if p.Pod != nil {
		return p.Pod.Namespace + "/" + p.Pod.Name
	}
	return p.Addr.String()
}
