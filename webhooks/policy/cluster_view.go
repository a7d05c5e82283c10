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
	"github.com/palisade-dev/palisade/pkg/clustercheck"
	"github.com/palisade-dev/palisade/pkg/engine"
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

// Pods returns the pods that are policy endpoints, converted by engine.FromPod, the one place where
// a pod's container ports become named ports: it leaves out host-networked and finished pods
// (engine.ErrNotWorkload), and so does this view. A pod FromPod cannot convert otherwise (an address
// that does not parse, which the API server does not let through) is left out too, as the engine
// leaves it out.
func (l cacheLister) Pods(namespace string) ([]engine.Endpoint, error) {
	pods, err := read(l, namespace, &corev1.PodList{}, func(l *corev1.PodList) []corev1.Pod { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]engine.Endpoint, 0, len(pods))
	for _, p := range pods {
		ep, err := engine.FromPod(p)
		if err != nil {
			continue
		}
		out = append(out, ep)
	}
	return out, nil
}

func (l cacheLister) Namespaces() ([]engine.Namespace, error) {
	nss, err := read(l, "", &corev1.NamespaceList{}, func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]engine.Namespace, 0, len(nss))
	for _, ns := range nss {
		if n, err := engine.FromNamespace(ns); err == nil {
			out = append(out, n)
		}
	}
	return out, nil
}

func (l cacheLister) ServiceAccounts(namespace string) ([]engine.ServiceAccount, error) {
	sas, err := read(l, namespace, &corev1.ServiceAccountList{}, func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]engine.ServiceAccount, 0, len(sas))
	for _, sa := range sas {
		if a, err := engine.FromServiceAccount(sa); err == nil {
			out = append(out, a)
		}
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
