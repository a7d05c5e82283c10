package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	k8stypes "k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/clustercheck"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// Defaults of the ClusterView's bounds.
const (
	// DefaultCheckTimeout is well inside the webhooks' timeouts (5 s for the Palisade kinds, 2 s for
	// Kubernetes NetworkPolicy), so that a check cut short still leaves time to answer.
	DefaultCheckTimeout = 1 * time.Second
	// DefaultMaxConcurrentChecks bounds the checks that run at once: each holds a view of the pods
	// it reads, and on a small node more would only share the same CPUs.
	DefaultMaxConcurrentChecks = 4
)

// ClusterView is what the webhooks read the cluster through: the manager's informer cache, never the
// API server. A nil *ClusterView turns the cluster findings off. The zero value of every bound picks
// its default. A ClusterView must not be copied once used.
//
// The checks are advice, so they are bounded rather than allowed to decide an admission by timing
// out: each runs under its own deadline (CheckTimeout) and work cap (MaxWork, counted in units by
// pkg/clustercheck), at most MaxConcurrentChecks at once; a check that waits for its turn past its
// deadline, or runs out of either bound, admits the policy with a warning saying the checks were cut
// short.
type ClusterView struct {
	// Reader must be a cache reader (mgr.GetCache()); a live client would make every admission
	// request call the API server.
	Reader client.Reader
	// Selectors keeps the compiled selectors of stored policies between requests.
	Selectors clustercheck.SelectorCache
	// Translations keeps the translations of stored Kubernetes NetworkPolicies between requests.
	Translations clustercheck.TranslationCache

	// CheckTimeout is the deadline of one check, waiting for its turn included
	// (DefaultCheckTimeout when 0).
	CheckTimeout time.Duration
	// MaxWork caps the work of one check (clustercheck.DefaultMaxWork when 0).
	MaxWork int
	// MaxConcurrentChecks caps the checks running at once (DefaultMaxConcurrentChecks when 0).
	MaxConcurrentChecks int

	semOnce   sync.Once
	sem       chan struct{}
	endpoints endpointCache
}

// checker returns a Checker whose Lister reads with ctx, so that a cache read never outlives the
// admission request.
func (v *ClusterView) checker(ctx context.Context) *clustercheck.Checker {
	return &clustercheck.Checker{Lister: cacheLister{ctx: ctx, r: v.Reader, endpoints: &v.endpoints}, Selectors: &v.Selectors, Translations: &v.Translations, MaxWork: v.MaxWork}
}

// acquire waits for a turn to run a check, until ctx is done. The returned function gives it back.
func (v *ClusterView) acquire(ctx context.Context) (func(), error) {
	v.semOnce.Do(func() {
		n := v.MaxConcurrentChecks
		if n <= 0 {
			n = DefaultMaxConcurrentChecks
		}
		v.sem = make(chan struct{}, n)
	})
	select {
	case v.sem <- struct{}{}:
		return func() { <-v.sem }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for one of %d running cluster checks to finish: %w", cap(v.sem), ctx.Err())
	}
}

func (v *ClusterView) timeout() time.Duration {
	if v.CheckTimeout > 0 {
		return v.CheckTimeout
	}
	return DefaultCheckTimeout
}

// checkFunc is a check of pkg/clustercheck: (*clustercheck.Checker).NetworkPolicy and its siblings.
type checkFunc[T any] func(*clustercheck.Checker, context.Context, T) ([]validation.Warning, error)

// findings returns the cluster findings for p; none without a view. A check cut short by its
// deadline, its work cap or its wait for a turn yields the findings of the checks that finished and
// a notice saying the others did not run. A check that could not read the view is logged and yields
// none. Either way the policy is admitted: findings are advice, and a cache that is not synced yet
// or a cluster too large to check in time must not make policies unwritable.
func findings[T any](ctx context.Context, view *ClusterView, check checkFunc[T], p T) []validation.Warning {
	if view == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, view.timeout())
	defer cancel()
	if ctx.Err() != nil {
		return []validation.Warning{cutShortNotice("none ran: the request had ended")}
	}
	release, err := view.acquire(ctx)
	if err != nil {
		log.FromContext(ctx).Info("cluster checks skipped", "reason", err.Error())
		return []validation.Warning{cutShortNotice("none ran: too many checks were running")}
	}
	defer release()
	found, err := check(view.checker(ctx), ctx, p)
	var cut *clustercheck.CutShortError
	switch {
	case errors.As(err, &cut):
		log.FromContext(ctx).Info("cluster checks cut short", "done", cut.Done, "work", cut.Work, "reason", cut.Cause.Error())
		return append([]validation.Warning{cutShortNotice(cutShortReason(cut))}, found...)
	case err != nil:
		log.FromContext(ctx).Error(err, "cluster checks skipped")
		return nil
	}
	return found
}

// cutShortReason says which checks ran and why the others did not.
func cutShortReason(cut *clustercheck.CutShortError) string {
	why := "they ran out of time"
	if errors.Is(cut.Cause, clustercheck.ErrWorkBudget) {
		why = "they reached their work limit"
	}
	if len(cut.Done) == 0 {
		return "none finished: " + why
	}
	return "only " + strings.Join(cut.Done, ", ") + " finished: " + why
}

// cacheLister implements clustercheck.Lister over a cache. When the reader is a controller-runtime
// cache it reads the informers' indexers directly: that hands out the cached objects themselves,
// where List would copy every object of a namespace into a new slice on every admission request,
// and that copying dominated the webhook's cost under load. Any other reader (a fake client in tests)
// is listed without a deep copy. The checks never modify what they read.
type cacheLister struct {
	ctx       context.Context
	r         client.Reader
	endpoints *endpointCache
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
// a pod's container ports become named ports (see endpointCache.convert).
func (l cacheLister) Pods(namespace string) ([]*engine.Endpoint, error) {
	pods, err := read(l, namespace, &corev1.PodList{}, func(l *corev1.PodList) []corev1.Pod { return l.Items })
	if err != nil {
		return nil, err
	}
	out := make([]*engine.Endpoint, 0, len(pods))
	for i, p := range pods {
		// Converting every pod of a large cluster takes a while: stop once the check has run out
		// of time, which the check then reports as cut short.
		if i%1024 == 1023 && l.ctx.Err() != nil {
			return nil, fmt.Errorf("converting pods: %w", l.ctx.Err())
		}
		if ep := l.endpoints.convert(p); ep != nil {
			out = append(out, ep)
		}
	}
	return out, nil
}

// maxCachedEndpoints bounds the endpointCache: a quarter of a million pods, about 100 MiB.
const maxCachedEndpoints = 1 << 18

// endpointCache remembers the conversion of each stored pod by UID and resourceVersion, which change
// whenever the pod does, so that a check over every pod of a large cluster does not convert (and
// allocate) every pod again on every admission request. Pods without both, which were not read from
// the API server, are converted every time. When it is full it starts over; forgetting costs time and
// nothing else. The zero value is ready to use and safe for concurrent use; a nil *endpointCache
// converts every time. The endpoints it hands out are shared: callers must not modify them.
type endpointCache struct {
	mu      sync.RWMutex
	entries map[k8stypes.UID]cachedEndpoint
}

type cachedEndpoint struct {
	resourceVersion string
	ep              *engine.Endpoint // nil: not a workload endpoint
}

// convert returns the endpoint of p, or nil when engine.FromPod refuses it: host-networked and
// finished pods (engine.ErrNotWorkload), which are no policy endpoints, and a pod it cannot convert
// otherwise (an address that does not parse, which the API server does not let through), which the
// engine would not hold either.
func (c *endpointCache) convert(p *corev1.Pod) *engine.Endpoint {
	fromPod := func() *engine.Endpoint {
		ep, err := engine.FromPod(p)
		if err != nil {
			return nil
		}
		return &ep
	}
	if c == nil || p.UID == "" || p.ResourceVersion == "" {
		return fromPod()
	}
	c.mu.RLock()
	e, ok := c.entries[p.UID]
	c.mu.RUnlock()
	if ok && e.resourceVersion == p.ResourceVersion {
		return e.ep
	}
	e = cachedEndpoint{resourceVersion: p.ResourceVersion, ep: fromPod()}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCachedEndpoints {
		c.entries = make(map[k8stypes.UID]cachedEndpoint)
	}
	c.entries[p.UID] = e
	c.mu.Unlock()
	return e.ep
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
