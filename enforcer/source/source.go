package source

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Source connects informers to an engine. Dirty is called after every change the engine accepted.
type Source struct {
	Engine *engine.Engine
	Dirty  func()
	Log    logr.Logger
}

// Start starts the informers and waits until every handler has delivered its informer's initial
// list to the engine (or ctx ends). A synced cache is not enough: handlers run behind the store,
// and the runner's first sync, which prunes what it does not render, follows Start at once.
func (s *Source) Start(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, resync time.Duration) error {
	f := informers.NewSharedInformerFactory(kube, resync)
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
			return e.UpsertKubernetesNetworkPolicy(obj.(*networkingv1.NetworkPolicy), engine.SlotEnforced)
		}, func(obj any) {
			if np, ok := obj.(*networkingv1.NetworkPolicy); ok {
				e.DeletePolicy(engine.PolicyKey{Kind: engine.KindKubernetesNetworkPolicy, Namespace: np.Namespace, Name: np.Name}, engine.SlotEnforced)
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
			var np v1alpha1.NetworkPolicy
			if err := fromUnstructured(obj, &np); err != nil {
				return err
			}
			return e.UpsertNetworkPolicy(&np, engine.SlotEnforced)
		}, func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				e.DeletePolicy(engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: u.GetNamespace(), Name: u.GetName()}, engine.SlotEnforced)
			}
		}),
		add(df.ForResource(v1alpha1.GroupVersion.WithResource("globalnetworkpolicies")).Informer(), "GlobalNetworkPolicy", func(obj any) error {
			var gnp v1alpha1.GlobalNetworkPolicy
			if err := fromUnstructured(obj, &gnp); err != nil {
				return err
			}
			return e.UpsertGlobalNetworkPolicy(&gnp, engine.SlotEnforced)
		}, func(obj any) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				e.DeletePolicy(engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: u.GetName()}, engine.SlotEnforced)
			}
		}),
	}
	for _, err := range steps {
		if err != nil {
			return err
		}
	}
	f.Start(ctx.Done())
	df.Start(ctx.Done())
	for t, ok := range f.WaitForCacheSync(ctx.Done()) {
		if !ok {
			return fmt.Errorf("syncing the %v informer: %w", t, ctx.Err())
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
