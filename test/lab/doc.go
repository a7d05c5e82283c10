// Package lab builds a Kubernetes cluster on one machine for end-to-end tests and demos:
// etcd and kube-apiserver from bin/k8s (as the envtest suites run them) with Palisade's CRDs, N
// nodes as network namespaces joined by a bridge in a "fabric" namespace, pods as network
// namespaces routed through their node, an echo server in every pod, the API objects of a
// manifest (Namespaces, ServiceAccounts, Nodes, Pods with their status, Services with the
// EndpointSlices the endpoint-slice controller would write, policies of all three kinds), and
// optionally one process per node running inside the node's namespace.
//
// # Layout
//
//	root namespace      etcd, kube-apiserver on 127.0.0.1:PORT (loopback only; in a mount
//	                    namespace of its own, with its own /etc/hosts, when
//	                    Options.APIServerHosts names hosts it must resolve)
//	                    the lab process: relays, echo servers, prober
//	PREFIX-fabric       bridge br0; one veth "nI" per node
//	PREFIX-nI (node I)  fab0 198.19.255.(I+1)/24 on the fabric; ip_forward on;
//	                    routes to the other nodes' pod CIDRs (and to their pods outside them);
//	                    127.0.0.1:6443 relayed to the API server; one veth "pJ" per pod on it,
//	                    a /32 route and a permanent neighbour entry for the pod's IP
//	PREFIX-pJ (pod J)   eth0 POD_IP/32, default route via 198.19.254.1 (on-link, a permanent
//	                    neighbour entry for the node's veth, as Calico's 169.254.1.1); echo
//	                    servers on every declared container port, TCP and UDP
//
// Every packet between two pods crosses the FORWARD chain of the source's node and of the
// destination's node (once when they share a node), which is where the enforcer works.
// Processes in node namespaces reach the API server through the relay: a listener the lab process
// created inside the node namespace on 127.0.0.1:6443 (the serving certificate covers 127.0.0.1),
// copying bytes to the API server's loopback address. Nothing is added to the root namespace's
// interfaces, addresses or routes.
//
// # Teardown
//
// Close removes everything a Lab created, in reverse order: node processes (SIGTERM, then
// SIGKILL), relays and echo servers (their sockets hold their namespaces alive), the pod, node and
// fabric namespaces, the control plane, the working directory. A failed Start tears down what it
// built. Everything carries the run's prefix (PREFIX = pal-lab-XXXXXXXX, working directory
// $TMPDIR/PREFIX), so Cleanup can remove the leftovers of a run that crashed.
//
// # What this package must never do
//
// It never touches the root namespace's interfaces, addresses, routes, sysctls or firewall; never
// uses addresses outside 198.18.0.0/15 (loopback aside); never removes a namespace, process or
// directory that does not carry a lab prefix; and never lets a probe or a connection run without a
// deadline.
package lab
