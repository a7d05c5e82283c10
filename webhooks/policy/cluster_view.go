package policy

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
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
	// Translations keeps the translations of stored Kubernetes NetworkPolicies between requests.
	Translations clustercheck.TranslationCache
}

// checker returns a Checker whose Lister reads with ctx, so that a cache read never outlives the
// admission request.
func (v *ClusterView) checker(ctx context.Context) *clustercheck.Checker {
	return &clustercheck.Checker{Lister: cacheLister{ctx: ctx, r: v.Reader}, Selectors: &v.Selectors, Translations: &v.Translations}
}

// cacheLister implements clustercheck.Lister over a cache. When the reader is a controller-runtime
// cache it reads the informers' indexers directly: that hands out the cached objects themselves,
// where List would copy every object of a namespace into a new slice on every admission request,
// and that copying dominated the webhook's cost under load. Any other reader (a fake client in tests)
// is listed without a deep copy. The checks never modify what they read.
type cacheLister struct {
	ctx context.Context
	r   client.Reader
}

// indexedInformer is what client-go's shared informers, behind controller-runtime's cache, offer.
type indexedInformer interface {
	GetIndexer() toolscache.Indexer
}

// cached returns the cached objects of obj's kind in namespace ("" for all) straight from the
// informer's indexer, or ok=false when the reader is not an informer cache.
func (l cacheLister) cached(obj client.Object, namespace string) (items []any, ok bool, err error) {
	informers, isCache := l.r.(cache.Informers)
	if !isCache {
		return nil, false, nil
	}
	inf, err := informers.GetInformer(l.ctx, obj, cache.BlockUntilSynced(false))
	if err != nil {
		return nil, false, fmt.Errorf("getting the informer for %T: %w", obj, err)
	}
	ix, isIndexed := inf.(indexedInformer)
	if !isIndexed {
		return nil, false, nil
	}
	if namespace == "" {
		return ix.GetIndexer().List(), true, nil
	}
	items, err = ix.GetIndexer().ByIndex(toolscache.NamespaceIndex, namespace)
	if err != nil {
		return nil, false, fmt.Errorf("reading the %T index of namespace %s: %w", obj, namespace, err)
	}
	return items, true, nil
}

// read returns the cached objects of kind T in namespace, from the indexer when it can, else by
// listing into list and taking its items.
func read[T any, PT interface {
	*T
	client.Object
}, L client.ObjectList](l cacheLister, namespace string, list L, items func(L) []T) ([]*T, error) {
	objs, ok, err := l.cached(PT(new(T)), namespace)
	if err != nil {
		return nil, err
	}
	if ok {
		out := make([]*T, 0, len(objs))
		for _, o := range objs {
			if t, isT := o.(PT); isT {
				out = append(out, (*T)(t))
			}
		}
		return out, nil
	}
	if err := l.list(list, namespace); err != nil {
		return nil, err
	}
	return pointers(items(list)), nil
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
	pods, err := read(l, namespace, &corev1.PodList{}, func(l *corev1.PodList) []corev1.Pod { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]clustercheck.Pod, 0, len(pods))
	for _, p := range pods {
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
	nss, err := read(l, "", &corev1.NamespaceList{}, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]clustercheck.Namespace, len(nss))
	for i, ns := range nss {
		out[i] = clustercheck.Namespace{Name: ns.Name, Labels: ns.Labels}
	}
	return out, nil
}

func (l cacheLister) ServiceAccounts(namespace string) ([]clustercheck.ServiceAccount, error) {
	sas, err := read(l, namespace, &corev1.ServiceAccountList{}, func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]clustercheck.ServiceAccount, len(sas))
	for i, sa := range sas {
		out[i] = clustercheck.ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, Labels: sa.Labels}
	}
	return out, nil
}

func (l cacheLister) NetworkPolicies(namespace string) ([]*v1alpha1.NetworkPolicy, error) {
	return read(l, namespace, &v1alpha1.NetworkPolicyList{}, func(l *v1alpha1.NetworkPolicyList) []v1alpha1.NetworkPolicy { return l.Items })
}

func (l cacheLister) GlobalNetworkPolicies() ([]*v1alpha1.GlobalNetworkPolicy, error) {
	return read(l, "", &v1alpha1.GlobalNetworkPolicyList{}, func(l *v1alpha1.GlobalNetworkPolicyList) []v1alpha1.GlobalNetworkPolicy { return l.Items })
}

func (l cacheLister) KubernetesNetworkPolicies(namespace string) ([]*networkingv1.NetworkPolicy, error) {
	return read(l, namespace, &networkingv1.NetworkPolicyList{}, func(l *networkingv1.NetworkPolicyList) []networkingv1.NetworkPolicy { return l.Items })
}

func pointers[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}
