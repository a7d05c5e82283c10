package rollout

import (
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// StaleReports is how many report intervals old a node report may be and still be trusted. Older
// reports count as missing: they neither block a step back nor help a promotion.
const StaleReports = 3

// Input is everything one decision depends on. Plan reads it and never changes it.
type Input struct {
	// Generation is the policy's metadata.generation: the candidate.
	Generation int64
	// Deleting is set once the policy has a deletion timestamp.
	Deleting bool
	// Spec is spec.rollout; unset fields take the defaults of pkg/defaulting.
	Spec *v1alpha1.RolloutSpec
	// Status is the status as last written (empty for a new policy).
	Status v1alpha1.PolicyStatus
	// Annotations are the policy's annotations; the control annotations among them are requests.
	Annotations map[string]string
	// Invalid says why the candidate cannot be compiled; empty when it can. An invalid candidate is
	// never promoted.
	Invalid string
	// Nodes names every node that must program the policy and report on it (every node running an
	// enforcer; an enforcer reports every policy, with zero counts where it has no endpoints).
	Nodes []string
	// Reports are the latest report of each node on this policy, in any order.
	Reports []NodeReport
	// ReportInterval is how often enforcers report; it is the length of the Recent counts and sets when
	// a report is stale (StaleReports intervals).
	ReportInterval time.Duration
	// Now is the time of the decision.
	Now time.Time
}

// NodeReport is one node's report on one policy. Generation, Phase, EnforcedGeneration and WindowStart
// echo the status the node has programmed, so the planner can tell whether the node acts on the
// current decision.
type NodeReport struct {
	// Node is the node's name.
	Node string
	// ObservedAt is when the node wrote the report.
	ObservedAt time.Time
	// Generation is the candidate generation the node has programmed and counts flows for.
	Generation int64
	// Phase is the phase the node has programmed the candidate in.
	Phase v1alpha1.RolloutPhase
	// EnforcedGeneration is the generation the node enforces for the policy's non-canary endpoints.
	EnforcedGeneration int64
	// WindowStart is the status.evidence.windowStart the node counts Window from.
	WindowStart time.Time
	// Window counts the candidate's flows since WindowStart.
	Window Counts
	// Recent counts the candidate's flows in the last complete report interval.
	Recent Counts
}

// Counts are flow counts for one policy generation.
type Counts struct {
	// WouldDeny counts new connections the candidate would deny where it is not enforced.
	WouldDeny int64
	// Denied counts new connections the candidate denied where it is enforced (the canary in Staged).
	Denied int64
	// Allowed counts new connections the candidate allowed.
	Allowed int64
}

func (c Counts) add(o Counts) Counts {
	return Counts{WouldDeny: c.WouldDeny + o.WouldDeny, Denied: c.Denied + o.Denied, Allowed: c.Allowed + o.Allowed}
}

// Action is what a decision does.
type Action string

// Actions.
const (
	// ActionStart puts a new generation in its first phase.
	ActionStart Action = "Start"
	// ActionHold keeps the phase.
	ActionHold Action = "Hold"
	// ActionPromote moves the candidate one phase on (or straight to Enforced when Immediate).
	ActionPromote Action = "Promote"
	// ActionStepBack returns a hurting candidate to Audit by itself.
	ActionStepBack Action = "StepBack"
	// ActionRollback returns the candidate to Audit on request.
	ActionRollback Action = "Rollback"
	// ActionNone decides nothing: the policy is being deleted.
	ActionNone Action = "None"
)

// Reasons a decision gives; they are also the reasons of the Progressing condition.
const (
	ReasonNewPolicy      = "NewPolicy"
	ReasonNewGeneration  = "NewGeneration"
	ReasonImmediate      = "Immediate"
	ReasonWaiting        = "WaitingForMinDuration"
	ReasonDenials        = "DenialsInWindow"
	ReasonEvidenceAbsent = "EvidenceMissing"
	ReasonEvidenceStale  = "EvidenceStale"
	ReasonPromoted       = "Promoted"
	ReasonPromoteRequest = "PromoteRequested"
	ReasonSteppedBack    = "SteppedBack"
	ReasonRolledBack     = "RolledBack"
	ReasonHeld           = "HeldAfterStepBack"
	ReasonPaused         = "Paused"
	ReasonInvalid        = "Invalid"
	ReasonWatching       = "WatchingAfterPromotion"
	ReasonEnforced       = "Enforced"
	ReasonDeleting       = "Deleting"
)

// Decision is what Plan decided and why, for events, logs and the narrative tests.
type Decision struct {
	Action Action
	// From and To are the phases before and after; equal when held.
	From, To v1alpha1.RolloutPhase
	// Reason is one of the Reason constants; Message says it with the numbers.
	Reason  string
	Message string
	// Controls lists the control requests acted on, in the order they were applied.
	Controls []string
}

// Transition reports whether the decision changed the phase or the enforced generation, which is
// when the operator emits an event.
func (d Decision) Transition() bool {
	return d.Action == ActionStart || d.Action == ActionPromote || d.Action == ActionStepBack || d.Action == ActionRollback
}

// Result is the outcome of one decision.
type Result struct {
	// Status is the status to write, complete.
	Status v1alpha1.PolicyStatus
	// Decision says what was decided and why.
	Decision Decision
	// RequeueAt is when the next decision is due if no input changes; zero when only new input (a node
	// report, an edit, a control request) can change it.
	RequeueAt time.Time
}
