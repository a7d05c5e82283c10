package clustercheck

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Lister is the read-only view of the cluster the checks run against. A namespace argument of ""
// means every namespace. Pods, namespaces and service accounts are given in the engine's model,
// converted by engine.FromPod, engine.FromNamespace and engine.FromServiceAccount, the one place
// where a pod becomes an endpoint and its container ports named ports; pods those functions refuse
// (host-networked, finished: engine.ErrNotWorkload) are not endpoints and a Lister must leave them
// out. Returned objects may be shared with a cache: callers must not modify them. Implementations
// must be safe for concurrent use; the checks call them from concurrent admission requests.
type Lister interface {
	Pods(namespace string) ([]*engine.Endpoint, error)
	Namespaces() ([]engine.Namespace, error)
	ServiceAccounts(namespace string) ([]engine.ServiceAccount, error)
	NetworkPolicies(namespace string) ([]*v1alpha1.NetworkPolicy, error)
	GlobalNetworkPolicies() ([]*v1alpha1.GlobalNetworkPolicy, error)
	KubernetesNetworkPolicies(namespace string) ([]*networkingv1.NetworkPolicy, error)
}
