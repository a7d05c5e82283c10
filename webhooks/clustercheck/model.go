package clustercheck

import (
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Pod is what the checks need to know about a pod that is a policy endpoint: its identity, labels,
// service account and declared container ports. Host-network pods and finished pods are not
// endpoints (semantics §7.3.6) and a Lister must not return them.
type Pod struct {
	Namespace      string
	Name           string
	ServiceAccount string
	Labels         map[string]string
	Ports          []NamedPort
}

// NamedPort is a container port with a name, as Calico turns it into a workload endpoint port
// (semantics §1.7). Protocol is "TCP", "UDP" or "SCTP".
type NamedPort struct {
	Name     string
	Protocol string
	Port     int32
}

// Namespace is a namespace's name and labels.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// ServiceAccount is a service account's identity and labels.
type ServiceAccount struct {
	Namespace string
	Name      string
	Labels    map[string]string
}

// Lister is the read-only view of the cluster the checks run against. A namespace argument of ""
// means every namespace. Returned objects may be shared with a cache: callers must not modify them.
// Implementations must be safe for concurrent use; the checks call them from concurrent admission
// requests.
type Lister interface {
	Pods(namespace string) ([]Pod, error)
	Namespaces() ([]Namespace, error)
	ServiceAccounts(namespace string) ([]ServiceAccount, error)
	NetworkPolicies(namespace string) ([]*v1alpha1.NetworkPolicy, error)
	GlobalNetworkPolicies() ([]*v1alpha1.GlobalNetworkPolicy, error)
	KubernetesNetworkPolicies(namespace string) ([]*networkingv1.NetworkPolicy, error)
}
