package source

import (
	"context"
	"fmt"
	"time"

	"sync"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Source connects informers to an engine. Dirty is called after every change the engine accepted,
// every status change of a Palisade policy and every change of one of their revisions.
type Source struct {
	Engine *engine.Engine
	Dirty  func()
	Log    logr.Logger
	// RevisionNamespace is the namespace the rollout operator keeps GlobalNetworkPolicies'
	// revisions in (its own); empty accepts a GlobalNetworkPolicy's revision from any namespace.
	// A NetworkPolicy's revisions are always read from its own namespace.
	RevisionNamespace string
	// EnforceAsWritten ignores rollouts: every Palisade policy's spec is enforced as written, as
	// before the rollout operator existed (a cluster without the operator, and tests that are not
	// about rollouts). Revisions are then not read.
	EnforceAsWritten bool

	mu        sync.Mutex
	records   map[engine.PolicyKey]*policyRecord
	byUID     map[types.UID]engine.PolicyKey
	slots     map[engine.PolicyKey][2]slotState
	revisions map[types.UID]map[string]revision // by policy UID, then namespace/name
	revUID    map[string]types.UID              // namespace/name → policy UID
}

func (s *Source) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = map[engine.PolicyKey]*policyRecord{}
		s.byUID = map[types.UID]engine.PolicyKey{}
		s.slots = map[engine.PolicyKey][2]slotState{}
		s.revisions = map[types.UID]map[string]revision{}
		s.revUID = map[string]types.UID{}
	}
}

// Start starts the informers and waits until every handler has delivered its informer's initial
// list to the engine (or ctx ends). A synced cache is not enough: handlers run behind the store,
// and the runner's first sync, which prunes what it does not render, follows Start at once.
func (s *Source) Start(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, resync time.Duration) error {
	s.init()
	f := informers.NewSharedInformerFactory(kube, resync)
	// Only Palisade's revisions: every StatefulSet and DaemonSet keeps its history in
	// ControllerRevisions too.
	rf := informers.NewSharedInformerFactoryWithOptions(kube, resync, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = revisionSelector()
	}))
	df := dynamicinformer.NewDynamicSharedInformerFactory(dyn, resync)
	var handlers []cache.InformerSynced
	add := func(inf cache.SharedIndexInformer, kind string, upsert func(obj any) error, del func(obj any)) error {
		reg, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { s.upsert(kind, obj, upsert) },
			UpdateFunc: func(_, obj any) { s.upsert(kind, obj, upsert) },
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				del(obj)
				s.Dirty()
			},
		})
		if err != nil {
			return fmt.Errorf("watching %s: %w", kind, err)
		}
		handlers = append(handlers, reg.HasSynced)
		return nil
	}
	e := s.Engine
	steps := []error{
		add(f.Core().V1().Pods().Informer(), "Pod", func(obj any) error {
			ep, err := engine.FromPod(obj.(*corev1.Pod))
			if err != nil {
				return err
			}
			return e.UpsertPod(ep)
		}, func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok {
				e.DeletePod(p.Namespace, p.Name)
			}
		}),
		add(f.Core().V1().Namespaces().Informer(), "Namespace", func(obj any) error {
			ns, err := engine.FromNamespace(obj.(*corev1.Namespace))
			if err != nil {
				return err
			}
			return e.UpsertNamespace(ns)
		}, func(obj any) {
			if n, ok := obj.(*corev1.Namespace); ok {
				e.DeleteNamespace(n.Name)
			}
		}),
		add(f.Core().V1().ServiceAccounts().Informer(), "ServiceAccount", func(obj any) error {
			sa, err := engine.FromServiceAccount(obj.(*corev1.ServiceAccount))
			if err != nil {
				return err
			}
			return e.UpsertServiceAccount(sa)
		}, func(obj any) {
			if sa, ok := obj.(*corev1.ServiceAccount); ok {
				e.DeleteServiceAccount(sa.Namespace, sa.Name)
			}
		}),
		add(f.Networking().V1().NetworkPolicies().Informer(), "KubernetesNetworkPolicy", func(obj any) error {
			return s.upsertKubernetes(obj.(*networkingv1.NetworkPolicy))
		}, func(obj any) {
			if np, ok := obj.(*networkingv1.NetworkPolicy); ok {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.forget(engine.PolicyKey{Kind: engine.KindKubernetesNetworkPolicy, Namespace: np.Namespace, Name: np.Name})
			}
		}),
		add(f.Discovery().V1().EndpointSlices().Informer(), "EndpointSlice", func(obj any) error {
			es, err := engine.FromEndpointSlice(obj.(*discoveryv1.EndpointSlice))
			if err != nil {
				return err
			}
			return e.UpsertEndpointSlice(es)
		}, func(obj any) {
			if es, ok := obj.(*discoveryv1.EndpointSlice); ok {
				e.DeleteEndpointSlice(es.Namespace, es.Name)
			}
		}),
		add(df.ForResource(v1alpha1.GroupVersion.WithResource("networkpolicies")).Informer(), "NetworkPolicy", func(obj any) error {
			r, err := networkPolicyRecord(obj)
			if err != nil {
				return err
			}
			s.upsertPalisade(r)
			return nil
		}, func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.forget(engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: u.GetNamespace(), Name: u.GetName()})
			}
		}),
		add(df.ForResource(v1alpha1.GroupVersion.WithResource("globalnetworkpolicies")).Informer(), "GlobalNetworkPolicy", func(obj any) error {
			r, err := globalNetworkPolicyRecord(obj, s.RevisionNamespace)
			if err != nil {
				return err
			}
			s.upsertPalisade(r)
			return nil
		}, func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				s.mu.Lock()
				defer s.mu.Unlock()
				s.forget(engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: u.GetName()})
			}
		}),
	}
	if !s.EnforceAsWritten {
		steps = append(steps, add(rf.Apps().V1().ControllerRevisions().Informer(), "ControllerRevision", func(obj any) error {
			s.upsertRevision(obj.(*appsv1.ControllerRevision))
			return nil
		}, func(obj any) {
			if cr, ok := obj.(*appsv1.ControllerRevision); ok {
				s.deleteRevision(cr)
			}
		}))
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	f.Start(ctx.Done())
	rf.Start(ctx.Done())
	df.Start(ctx.Done())
	for _, fac := range []informers.SharedInformerFactory{f, rf} {
		for t, ok := range fac.WaitForCacheSync(ctx.Done()) {
			if !ok {
				return fmt.Errorf("syncing the %v informer: %w", t, ctx.Err())
			}
		}
	}
	for r, ok := range df.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("syncing the %v informer: %w", r, ctx.Err())
		}
	}
	if !cache.WaitForCacheSync(ctx.Done(), handlers...) {
		return fmt.Errorf("delivering the informers' initial lists to the engine: %w", ctx.Err())
	}
	return nil
}

func (s *Source) upsert(kind string, obj any, fn func(any) error) {
	if err := fn(obj); err != nil {
		if m, ok := obj.(interface{ GetNamespace() string }); ok {
			if n, ok := obj.(interface{ GetName() string }); ok {
				s.Log.Error(err, "object not stored in the engine", "kind", kind, "namespace", m.GetNamespace(), "name", n.GetName())
			}
		}
		// A policy the engine stored failing closed still changes the dataplane.
	}
	s.Dirty()
}

func fromUnstructured(obj any, into any) error {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return fmt.Errorf("converting %T: not unstructured", obj)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("converting %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
	return nil
}
