// Package rollout decides where each policy generation stands on its way to enforcement: the planner
// turns (rollout spec, status, node reports, control requests, now) into the next status — phase,
// enforced generation, evidence, conditions — a decision with its reason, and the time the next
// decision is due. It also owns the canary membership function that every enforcer and the CLI use to
// agree on which endpoints a Staged candidate is enforced on.
//
// The package is a pure core: it reads values and returns values. It must never hold a client, read a
// clock (time arrives as Input.Now), run a command or write anything; the operator gathers the inputs
// and writes the status it returns. Its one safety rule: a decision never weakens protection on
// missing, stale or contradictory evidence — a candidate is only promoted on fresh reports from every
// node covering the whole evidence window, and a step back always re-enforces the previous good
// generation.
package rollout
