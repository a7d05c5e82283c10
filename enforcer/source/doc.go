// Package source feeds the policy engine from the API server: client-go informers for every pod
// (the node's own, by spec.nodeName, are the ones it enforces; all the others are what selectors
// reach), namespaces, service accounts, Palisade NetworkPolicies and GlobalNetworkPolicies, their
// revisions (ControllerRevisions carrying the rollout.LabelPolicyUID label), Kubernetes
// NetworkPolicies and EndpointSlices. Each event converts the object with the engine's From*
// functions, stores it, and marks the runner dirty; it never renders and never touches the kernel.
//
// # Phases (docs/rollout.md, "The contract with the enforcers and the CLI")
//
// A Palisade policy's spec is its candidate. The engine's enforced slot holds the generation
// status.enforcedGeneration names — read from its revision, or the spec itself when the phase is
// Enforced or the enforced generation is the current one — and the candidate slot holds the spec when
// it is not the enforced generation. The status's phase counts only when status.observedGeneration is
// the policy's generation; otherwise (no status yet, or an edit the operator has not seen) the
// candidate is in Audit when Progressive and Enforced when Immediate. Chooser enforces a Staged
// candidate on its canary (rollout.InCanary), and Policies and Generation say what is programmed,
// for the node report. Kubernetes NetworkPolicies are always enforced as written.
//
// What it must never do: open traffic that was closed because a revision is missing. A status naming
// an enforced generation whose revision cannot be read (deleted, not controlled by the policy,
// unreadable) keeps the generation the enforced slot holds, or, when it holds none yet, the spec
// stands in; MissingRevisions counts such policies and each is logged once.
//
// Objects the engine refuses are logged and left out (a policy the engine cannot compile is stored
// failing closed by the engine itself, never silently dropped).
package source
