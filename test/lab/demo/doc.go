// Package demo is `palisade-lab demo` (`make demo`): it builds a lab (package lab) from the
// three-tier example's namespaces and pods, installs Palisade into it the way a cluster runs it
// (the CRDs, palisade-controller with its admission webhooks and rollout operator, one
// palisade-enforcer per node namespace), applies the example's policies with kubectl, and tells the
// rollout story step by step with what is true at each step: the policies' phases as kubectl prints
// them, the connectivity matrix measured with real packets, and `kubectl palisade trace` of a flow.
//
// Every claim the narration makes is checked against what was measured; a false claim is printed as
// such and makes Run fail once the story is told. What the demo measured is returned as a Report,
// which the lab suite asserts on.
//
// # What this package must never do
//
// It never touches the root network namespace (everything runs inside the lab's namespaces or on
// loopback), never leaves a process, namespace, rule or directory behind when Run returns (Ctrl-C
// and failures included), and never claims something it did not measure: when a step cannot happen
// (a promotion that waits for node reports), it says what it waited for instead.
package demo
