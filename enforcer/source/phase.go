package source

import (
	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// origin says where the spec a slot should hold comes from.
type origin uint8

const (
	fromNothing  origin = iota // the slot is emptied
	fromSpec                   // the policy's own spec (generation metadata.generation)
	fromRevision               // the ControllerRevision of plan.enforcedGeneration
)

// plan is what the rollout contract (docs/rollout.md, "The contract with the enforcers") asks an
// enforcer to program for one Palisade policy, before the revisions are looked up.
type plan struct {
	// phase is the candidate's phase as this enforcer applies it: the status's when the status
	// describes the current generation, else the default of the strategy.
	phase v1alpha1.RolloutPhase
	// enforced is where the enforced slot's spec comes from; enforcedGeneration is its generation
	// (0 with fromNothing).
	enforced           origin
	enforcedGeneration int64
	// candidate: the spec goes to the candidate slot (it is not the enforced generation).
	candidate bool
	// canaryPercent is the share of endpoints enforcing the candidate: the status's while Staged
	// with a candidate, else 0.
	canaryPercent int32
}

// planFor derives the plan from a policy's generation, strategy and status. It is pure.
//
// The status's phase is trusted only when status.observedGeneration is the policy's generation: after
// an edit, until the operator has seen it, the phase still describes the previous generation, and
// reading "Enforced" there would enforce the new spec before it has earned it. Such a candidate, like
// a policy with no status yet, is in Audit when Progressive and Enforced when Immediate. The
// enforced generation is always the status's: it names a generation whatever the candidate is.
func planFor(generation int64, immediate bool, st v1alpha1.PolicyStatus) plan {
	phase := st.Phase
	if st.ObservedGeneration != generation || phase == "" {
		phase = v1alpha1.PhaseAudit
		if immediate {
			phase = v1alpha1.PhaseEnforced
		}
	}
	p := plan{phase: phase}
	switch {
	case phase == v1alpha1.PhaseEnforced || st.EnforcedGeneration == generation:
		p.enforced, p.enforcedGeneration = fromSpec, generation
		return p
	case st.EnforcedGeneration <= 0:
		p.enforced = fromNothing
	default:
		p.enforced, p.enforcedGeneration = fromRevision, st.EnforcedGeneration
	}
	p.candidate = true
	if phase == v1alpha1.PhaseStaged && st.CanaryPercent > 0 {
		p.canaryPercent = min(st.CanaryPercent, 100)
	}
	return p
}
