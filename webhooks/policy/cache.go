package policy

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// The cluster findings read these kinds through the informer cache, which lists and watches; nothing
// is read with a direct get, and nothing is written.
//
// +kubebuilder:rbac:groups="",resources=pods;namespaces;serviceaccounts,verbs=list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=list;watch
// +kubebuilder:rbac:groups=policy.palisade.dev,resources=networkpolicies;globalnetworkpolicies,verbs=list;watch

// watchedObjects are the kinds the cluster findings read.
func watchedObjects() []client.Object {
	return []client.Object{
		&corev1.Pod{}, &corev1.Namespace{}, &corev1.ServiceAccount{},
		&v1alpha1.NetworkPolicy{}, &v1alpha1.GlobalNetworkPolicy{}, &networkingv1.NetworkPolicy{},
	}
}

// StartInformers registers an informer for every kind the webhooks read, so that the manager starts
// them with its cache and the readiness check waits for them, instead of the first admission request
// creating one and waiting for its initial list.
func StartInformers(ctx context.Context, c cache.Cache) error {
	for _, obj := range watchedObjects() {
		if _, err := c.GetInformer(ctx, obj); err != nil {
			return fmt.Errorf("starting the informer for %T: %w", obj, err)
		}
	}
	return nil
}

// CacheOptions returns the manager's cache options: managed fields are dropped from every cached
// object (nothing in Palisade reads them, and they are often the larger part of an object), and
// pods are cut down further (CacheByObject).
func CacheOptions() cache.Options {
	return cache.Options{DefaultTransform: cache.TransformStripManagedFields(), ByObject: CacheByObject()}
}

// CacheByObject returns cache options that keep only what Palisade reads of a pod. Pods are the bulk
// of a cluster's objects and a webhook replica caches all of them; dropping managed fields,
// annotations, volumes, env and status details divides that memory several times. What is kept:
// identity and labels, owner references, node, service account, host networking, container ports,
// phase and pod IPs, which is what the webhooks and the rollout operator read. Whoever needs another
// pod field must add it here.
func CacheByObject() map[client.Object]cache.ByObject {
	return map[client.Object]cache.ByObject{&corev1.Pod{}: {Transform: StripPod}}
}

// StripPod is the cache transform of CacheByObject. Objects that are not pods pass unchanged.
func StripPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	out := &corev1.Pod{
		TypeMeta: p.TypeMeta,
	}
	out.Name, out.Namespace, out.UID = p.Name, p.Namespace, p.UID
	out.ResourceVersion, out.Generation = p.ResourceVersion, p.Generation
	out.Labels, out.OwnerReferences = p.Labels, p.OwnerReferences
	out.CreationTimestamp, out.DeletionTimestamp = p.CreationTimestamp, p.DeletionTimestamp
	out.Spec.NodeName = p.Spec.NodeName
	out.Spec.ServiceAccountName = p.Spec.ServiceAccountName
	out.Spec.HostNetwork = p.Spec.HostNetwork
	out.Spec.InitContainers = stripContainers(p.Spec.InitContainers)
	out.Spec.Containers = stripContainers(p.Spec.Containers)
	out.Status.Phase = p.Status.Phase
	out.Status.PodIP, out.Status.PodIPs = p.Status.PodIP, p.Status.PodIPs
	return out, nil
}

func stripContainers(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		out[i] = corev1.Container{Name: c.Name, Ports: c.Ports}
	}
	return out
}
