// Package knp translates Kubernetes NetworkPolicy (networking.k8s.io/v1) into the Calico policy
// model Palisade evaluates, the way Calico's K8sNetworkPolicyToCalico does
// (docs/semantics.md section 7.2): order 1000, the policy selector from podSelector, one
// Allow rule per protocol x peer of each Kubernetes rule, ports grouped by protocol (TCP when
// unset) and merged into ranges, ipBlock as masked nets/notNets, namespaceSelector {} as all(),
// and policyTypes defaulted as the API server does (Ingress, plus Egress iff there are egress
// rules), because objects read from files have not been through the API server.
//
// It serves two callers, which differ only in how a pod selector is written (Form):
//   - the engine (FormCalico) evaluates the spec exactly as Felix sees it: tier default and
//     Calico's projectcalico.org/orchestrator == 'k8s' clause on every pod selector;
//   - the Calico converter (FormPalisade) writes a Palisade NetworkPolicy for a staged Kubernetes
//     policy: no tier, no orchestrator clause (Palisade policies only ever select pods), and an
//     empty pod selector as all(), so that a peer still means "pods of this namespace" rather than
//     "any address". Both forms select the same pods.
//
// # Errors instead of Calico's silent choices
//
// Calico drops a rule it cannot convert, reads a bad ipBlock CIDR as no restriction, passes any
// protocol through, and renders label values between quotes without looking at them. Here
// everything the API server would reject and the translation depends on is an Error naming its
// field (spec.ingress[0].ports[1].port): an unknown protocol or policy type, a bad port, port name
// or endPort, a peer with nothing or with ipBlock next to a selector, a bad CIDR (or an
// IPv4-mapped IPv6 one), an except that is not a strict subset of its cidr, and label keys,
// values and operators outside Kubernetes' syntax (a value holding a quote could otherwise rewrite
// the selector). The spec returned alongside errors is the reading a caller that fails the policy
// closed needs: a Kubernetes rule in error is left out whole, a podSelector in error selects every
// pod of the namespace, and an unknown policy type makes the policy govern both directions.
// What is valid Kubernetes always translates without error, even past Palisade's CRD size limits
// (rules, ports, selector length): those belong to admission of the written object, not to what
// the policy means.
//
// # What this package must never do
//
// It is a pure translation: it must never import clients, perform I/O, evaluate flows or validate
// the result against Palisade's CRD (pkg/validation does), and it must never panic, whatever the
// input.
package knp
