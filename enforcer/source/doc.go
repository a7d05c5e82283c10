// Package source feeds the policy engine from the API server: client-go informers for every pod
// (the node's own, by spec.nodeName, are the ones it enforces; all the others are what selectors
// reach), namespaces, service accounts, Palisade NetworkPolicies and GlobalNetworkPolicies, Kubernetes
// NetworkPolicies and EndpointSlices. Each event converts the object with the engine's From*
// functions, stores it, and marks the runner dirty; it never renders and never touches the kernel.
//
// Until the rollout operator exists every policy is enforced as written: specs go to the engine's
// enforced slot. Objects the engine refuses are logged and left out (a policy the engine cannot
// compile is stored failing closed by the engine itself, never silently dropped).
package source
