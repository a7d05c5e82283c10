// Package convert turns Calico projectcalico.org/v3 policies into Palisade policies.
//
// Palisade's spec is Calico's, field for field, so most of a conversion is a change of apiVersion;
// the work is in the kinds Palisade deliberately does not have (docs/semantics.md section 0):
//
//   - NetworkPolicy, GlobalNetworkPolicy: apiVersion policy.palisade.dev/v1alpha1, everything else
//     kept as written (metadata that the API server fills in is dropped, see below). Nothing is
//     normalised beyond what decoding does in Calico too (a protocol written as a numeric string,
//     "6", becomes the number 6): what lint or admission would reject in the Calico policy is
//     rejected in the Palisade one, with the same field path.
//   - StagedNetworkPolicy, StagedGlobalNetworkPolicy (stagedAction Set or unset): the enforced
//     kind, pinned to Audit with spec.rollout {strategy: Progressive, paused: true}. A new policy
//     starts in Audit and paused holds it there, which is what a staged policy is: evaluated,
//     counted, never enforced. Applied over an existing enforced policy of the same name, it becomes
//     that policy's candidate generation while the enforced generation stays enforced.
//   - StagedKubernetesNetworkPolicy: a Palisade NetworkPolicy pinned to Audit, translated from the
//     Kubernetes spec as Calico does (section 7.2) by pkg/knp, the translation the engine
//     evaluates too: order 1000, one Allow rule per protocol and peer, ports grouped by protocol
//     and merged into ranges. It uses pkg/knp's FormPalisade: Calico's
//     "projectcalico.org/orchestrator == 'k8s'" clause is left out because Palisade policies only
//     ever select pods, and an empty pod selector becomes all() so that a peer still means "pods
//     of this namespace" rather than "anything". What pkg/knp reports (what Calico would drop,
//     widen or pass through) is an error with its field path.
//
// stagedAction Delete stages the removal of a policy and holds no policy, so it is an error, as
// are stagedAction Learn and Ignore, whose meaning Calico Enterprise defines and Palisade has not
// adopted. Other projectcalico.org kinds (Tier, NetworkSet, HostEndpoint...) have no Palisade
// equivalent and are errors too. Unknown fields are errors naming their path: a field dropped in
// conversion could widen an Allow.
//
// Kept metadata: name, generateName, namespace, labels, annotations, ownerReferences, finalizers.
// Dropped: what the API server fills in (uid, resourceVersion, generation, creationTimestamp,
// deletion fields, managedFields, selfLink), the last-applied-configuration annotation (it
// describes the Calico object), and status.
//
// Output is YAML in a fixed field order (apiVersion, kind, metadata, spec; within spec: tier,
// order, selectors, types, rules, then the rest), so that converting twice gives identical bytes.
//
// Every converted policy is then defaulted and validated as Palisade's admission would
// (pkg/defaulting, pkg/validation), and what admission would refuse (a tier other than default,
// http rules, doNotTrack...) is an error with its reason: all or nothing includes what the cluster
// would accept. The output is still written as converted, not defaulted.
//
// This package is pure: no I/O beyond what it is handed, no cluster access, and no panics on any
// input.
package convert
