// Package observe is the enforcer's shadow evaluation: each new connection the NFLOG reader
// reports is evaluated with the policy engine in both views (EvaluateBoth) and counted per
// policy generation and rule — would-deny (the candidate view denies what the enforced view
// allows) to the candidate policy that decided, denied to the enforced policy that decided,
// allowed to every candidate generation the flow met — per policy evidence window (SetWindow,
// status.evidence.windowStart), previous window and last report interval (RollInterval). The
// top would-deny and denied flows of each policy's window are kept (pods or addresses, protocol,
// port, count, first and last seen).
//
// ObserveSide is what a node uses: it counts one direction of a flow only (the side whose pod
// the node owns, so sums over nodes count each direction once) and evaluates the enforced view
// with the dataplane's own chooser (a Canary enforces a Staged candidate on its slice, so a
// canary pod's denial is the candidate generation's). Observe evaluates both directions with
// EvaluateBoth.
//
// Summary is a bounded deep copy a node-report writer can copy as is: policies, rules per
// policy and flows are capped by Limits, and what was cut is counted. Metrics exposes
// palisade_flows_total{policy,generation,verdict} with labels bounded by the number of policies.
//
// An Observer is safe for concurrent use. Time comes in as a value (the caller's injected clock
// or the kernel timestamp). What this package must never do: read the wall clock, do I/O, keep
// memory that grows with traffic, put addresses or ports in metric labels, or influence a
// verdict (it only counts).
package observe
