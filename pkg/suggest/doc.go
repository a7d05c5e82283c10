// Package suggest writes, for a flow a policy would deny, an Allow rule a user can paste into that
// policy so that it allows the flow: the rollout operator shows one for each top would-deny flow in
// status.evidence, and `kubectl palisade status` prints it.
//
// A suggestion names the peer as narrowly as the observation allows — a pod by a stable subset of
// its labels (app and name labels rather than pod-template-hash), pinned to its namespace, an address
// by a /32 or /128 — and the flow's protocol and destination port. It is checked before it is
// returned: it passes pkg/validation, and pkg/engine, loaded with the policy and the rule, allows the
// flow. When no such rule can be written (the policy allows the flow as it stands, it does not
// compile) there is no suggestion and a note says why.
//
// It is a pure core: it must never hold a client, read a clock or do I/O, and it must never return a
// rule it has not checked — a pasted rule that does not allow the flow, or allows far more than it
// says, would teach users to distrust every suggestion.
package suggest
