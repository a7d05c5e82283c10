package policy

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/webhooks/clustercheck"
)

// ClusterView is what the webhooks read the cluster through: the manager's informer cache, never the
// API server. A nil *ClusterView turns the cluster findings off.
type ClusterView struct {
	// Reader must be a cache reader (mgr.GetCache()); a live client would make every admission
	// request call the API server.
	Reader client.Reader
	// Selectors keeps the parsed selectors of stored policies between requests.
	Selectors clustercheck.SelectorCache
}

// checker returns a Checker whose Lister reads with ctx, so that a cache read never outlives the
// admission request.
func (v *ClusterView) checker(ctx context.Context) *clustercheck.Checker {
	return &clustercheck.Checker{Lister: cacheLister{ctx: ctx, r: v.Reader}, Selectors: &v.Selectors}
}

// cacheLister implements clustercheck.Lister over a cache reader. Lists are read without a deep copy
// (client.UnsafeDisableDeepCopy): the checks never modify what they read, and copying every pod on
// every admission request would dominate the webhook's latency.
type cacheLister struct {
	ctx context.Context
	r   client.Reader
}

func (l cacheLister) list(obj client.ObjectList, namespace string) error {
	opts := []client.ListOption{client.UnsafeDisableDeepCopy}
	if namespace != "" {
		opts = append(opts, client.InNamespace(namespace))
	}
	if err := l.r.List(l.ctx, obj, opts...); err != nil {
		return fmt.Errorf("listing %T from the cache: %w", obj, err)
	}
	return nil
}

// Pods returns the pods that are policy endpoints: not host-networked (semantics §7.3.6) and not
// finished (Felix removes the endpoints of pods that have terminated).
func (l cacheLister) Pods(namespace string) ([]clustercheck.Pod, error) {
	var list corev1.PodList
	if err := l.list(&list, namespace); err != nil {
		return nil, err
	}
	out := make([]clustercheck.Pod, 0, len(list.Items))
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.HostNetwork || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, clustercheck.Pod{
			Namespace:      p.Namespace,
			Name:           p.Name,
			ServiceAccount: p.Spec.ServiceAccountName,
			Labels:         p.Labels,
			Ports:          namedPorts(&p.Spec),
		})
	}
	return out, nil
}

// namedPorts lists a pod's container ports the way Calico turns them into endpoint ports (semantics
// §1.7): every container and init container port with a number, a name and a protocol of TCP, UDP or
// SCTP (empty meaning TCP).
func namedPorts(spec *corev1.PodSpec) []clustercheck.NamedPort {
	var out []clustercheck.NamedPort
	for _, cs := range [][]corev1.Container{spec.InitContainers, spec.Containers} {
		for _, c := range cs {
			for _, p := range c.Ports {
				if p.ContainerPort == 0 || p.Name == "" {
					continue
				}
				proto := p.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				switch proto {
				case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
					out = append(out, clustercheck.NamedPort{Name: p.Name, Protocol: string(proto), Port: p.ContainerPort})
				}
			}
		}
	}
	return out
}

func (l cacheLister) Namespaces() ([]clustercheck.Namespace, error) {
	var list corev1.NamespaceList
	if err := l.list(&list, ""); err != nil {
		return nil, err
	}
	out := make([]clustercheck.Namespace, len(list.Items))
	for i, ns := range list.Items {
		out[i] = clustercheck.Namespace{Name: ns.Name, Labels: ns.Labels}
	}
	return out, nil
}

func (l cacheLister) ServiceAccounts(namespace string) ([]clustercheck.ServiceAccount, error) {
	var list corev1.ServiceAccountList
	if err := l.list(&list, namespace); err != nil {
		return nil, err
	}
	out := make([]clustercheck.ServiceAccount, len(list.Items))
	for i, sa := range list.Items {
		out[i] = clustercheck.ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, Labels: sa.Labels}
	}
	return out, nil
}

func (l cacheLister) NetworkPolicies(namespace string) ([]*v1alpha1.NetworkPolicy, error) {
	var list v1alpha1.NetworkPolicyList
	if err := l.list(&list, namespace); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

func (l cacheLister) GlobalNetworkPolicies() ([]*v1alpha1.GlobalNetworkPolicy, error) {
	var list v1alpha1.GlobalNetworkPolicyList
	if err := l.list(&list, ""); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

func (l cacheLister) KubernetesNetworkPolicies(namespace string) ([]*networkingv1.NetworkPolicy, error) {
	var list networkingv1.NetworkPolicyList
	if err := l.list(&list, namespace); err != nil {
		return nil, err
	}
	return pointers(list.Items), nil
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
