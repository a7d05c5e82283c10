// Package defaulting fills the unset fields of Palisade policies, as the mutating webhook does before
// validation, so that what is stored is explicit: the directions a policy governs (types), its tier and
// a fully filled rollout spec.
//
// The rules follow Calico's Go defaulting (docs/semantics.md section 2): types are derived with
// len(rules) > 0, so an explicit empty list counts as absent (Calico's CEL admission policy differs on
// that edge; Palisade follows the Go client). Explicit values are never changed, and defaulting is
// idempotent: defaulting a defaulted object changes nothing.
//
// The default values are exported so that documentation and the rollout planner refer to the same
// numbers.
//
// This package is a pure core: it must never import a client, perform I/O, read the clock or log, never
// validate (an invalid object stays invalid and is rejected by pkg/validation), and never panic.
package defaulting
