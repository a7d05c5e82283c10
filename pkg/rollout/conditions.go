package rollout

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Condition reasons that are not decision reasons.
const (
	ReasonCompiled    = "Compiled"
	ReasonProgrammed  = "Programmed"
	ReasonProgramming = "Programming"
	ReasonNoNodes     = "NoNodes"
	ReasonNotDegraded = "NotDegraded"
)

// setConditions computes every condition from the decided status. Ready is True once the current
// phase is programmed on every node, in every phase, so that GitOps tools wait for programming and not
// for a rollout that takes days; progress toward Enforced is in Progressing.
func (p *planner) setConditions() {
	gen, now := p.in.Generation, *p.now()
	SetValidCondition(&p.st, gen, p.in.Invalid, now)
	done, waiting := p.nodes.programmed(&p.st, gen)
	p.st.NodesProgrammed, p.st.NodesDesired = int32(len(done)), int32(len(p.nodes.nodes)) //nolint:gosec // node counts fit
	SetProgrammedCondition(&p.st, gen, waiting, now)
	SetDegradedCondition(&p.st, gen, p.stepped, p.d.Reason, p.d.Message, now)
	SetProgressingCondition(&p.st, gen, p.d, p.paused(), p.in.Invalid != "", now)
	SetReadyCondition(&p.st, gen, now)
	SetKstatusConditions(&p.st, gen, now)
}

func set(st *v1alpha1.PolicyStatus, gen int64, t string, ok bool, reason, msg string, now metav1.Time) {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	// LastTransitionTime is given, never read from a clock: SetStatusCondition keeps the old one when
	// the status did not change and takes ours when it did.
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: t, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen, LastTransitionTime: now,
	})
}

// SetValidCondition: True when the candidate compiles, False with the compiler's message otherwise.
func SetValidCondition(st *v1alpha1.PolicyStatus, gen int64, invalid string, now metav1.Time) {
	if invalid != "" {
		set(st, gen, v1alpha1.ConditionValid, false, ReasonInvalid, invalid, now)
		return
	}
	set(st, gen, v1alpha1.ConditionValid, true, ReasonCompiled, fmt.Sprintf("generation %d compiles", gen), now)
}

// SetProgrammedCondition: True when every node has programmed the status's generation, phase and
// enforced generation (waiting is empty and nodes are desired); status.nodesProgrammed and
// nodesDesired must already be set.
func SetProgrammedCondition(st *v1alpha1.PolicyStatus, gen int64, waiting []string, now metav1.Time) {
	what := fmt.Sprintf("generation %d in %s", gen, st.Phase)
	if st.EnforcedGeneration != gen {
		if st.EnforcedGeneration == 0 {
			what += ", no generation enforced"
		} else {
			what += fmt.Sprintf(", generation %d enforced", st.EnforcedGeneration)
		}
	}
	switch {
	case st.NodesDesired == 0:
		set(st, gen, v1alpha1.ConditionProgrammed, false, ReasonNoNodes, "no enforcer node reports on this policy", now)
	case len(waiting) > 0:
		set(st, gen, v1alpha1.ConditionProgrammed, false, ReasonProgramming, fmt.Sprintf("%d/%d nodes programmed %s; waiting for %s",
			st.NodesProgrammed, st.NodesDesired, what, names(waiting)), now)
	default:
		set(st, gen, v1alpha1.ConditionProgrammed, true, ReasonProgrammed, fmt.Sprintf("%d/%d nodes programmed %s",
			st.NodesProgrammed, st.NodesDesired, what), now)
	}
}

// SetDegradedCondition: True from a step back or rollback until the held generation is promoted or
// replaced. steppedNow says the decision just stepped back, with its reason and message; a generation
// still held keeps the condition it got then.
func SetDegradedCondition(st *v1alpha1.PolicyStatus, gen int64, steppedNow bool, reason, msg string, now metav1.Time) {
	if steppedNow {
		set(st, gen, v1alpha1.ConditionDegraded, true, reason, msg, now)
		return
	}
	if st.Controls != nil && st.Controls.HeldGeneration == gen {
		if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDegraded); c != nil && c.Status == metav1.ConditionTrue {
			set(st, gen, v1alpha1.ConditionDegraded, true, c.Reason, c.Message, now)
			return
		}
		set(st, gen, v1alpha1.ConditionDegraded, true, ReasonSteppedBack, fmt.Sprintf("generation %d stepped back", gen), now)
		return
	}
	set(st, gen, v1alpha1.ConditionDegraded, false, ReasonNotDegraded, "no step back", now)
}

// SetProgressingCondition: True while the candidate moves toward Enforced, with the decision's reason
// and message; False once it is enforced (reason Enforced), and while it is invalid, held after a step
// back or paused, in that order (reason Invalid, the step back's reason, Paused).
func SetProgressingCondition(st *v1alpha1.PolicyStatus, gen int64, d Decision, paused, invalid bool, now metav1.Time) {
	held := st.Controls != nil && st.Controls.HeldGeneration == gen
	switch {
	case st.Phase == v1alpha1.PhaseEnforced:
		set(st, gen, v1alpha1.ConditionProgressing, false, ReasonEnforced, d.Message, now)
	case invalid:
		set(st, gen, v1alpha1.ConditionProgressing, false, ReasonInvalid, d.Message, now)
	case held:
		reason := ReasonHeld
		if d.Action == ActionStepBack || d.Action == ActionRollback {
			reason = d.Reason
		}
		set(st, gen, v1alpha1.ConditionProgressing, false, reason, d.Message, now)
	case paused:
		set(st, gen, v1alpha1.ConditionProgressing, false, ReasonPaused, d.Message, now)
	default:
		set(st, gen, v1alpha1.ConditionProgressing, true, d.Reason, d.Message, now)
	}
}

// SetReadyCondition: True when the generation is valid, not held after a step back and programmed on
// every node — in every phase. False otherwise, with the first reason that applies: Invalid, the step
// back's reason, then the Programmed condition's.
func SetReadyCondition(st *v1alpha1.PolicyStatus, gen int64, now metav1.Time) {
	valid := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionValid)
	degraded := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionDegraded)
	programmed := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionProgrammed)
	switch {
	case valid == nil || valid.Status != metav1.ConditionTrue:
		set(st, gen, v1alpha1.ConditionReady, false, ReasonInvalid, condMessage(valid), now)
	case degraded != nil && degraded.Status == metav1.ConditionTrue:
		set(st, gen, v1alpha1.ConditionReady, false, degraded.Reason, degraded.Message, now)
	case programmed == nil || programmed.Status != metav1.ConditionTrue:
		reason := ReasonProgramming
		if programmed != nil {
			reason = programmed.Reason
		}
		set(st, gen, v1alpha1.ConditionReady, false, reason, condMessage(programmed), now)
	default:
		set(st, gen, v1alpha1.ConditionReady, true, ReasonProgrammed, programmed.Message, now)
	}
}

// SetKstatusConditions sets kstatus's abnormal-true conditions from Ready's inputs, present only
// while True: Reconciling while the phase is being programmed (kstatus: InProgress), Stalled while the
// candidate is invalid or held after a step back (kstatus: Failed). Set it after SetReadyCondition.
func SetKstatusConditions(st *v1alpha1.PolicyStatus, gen int64, now metav1.Time) {
	ready := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionReady)
	reconciling, stalled := false, false
	if ready != nil && ready.Status != metav1.ConditionTrue {
		reconciling = ready.Reason == ReasonProgramming || ready.Reason == ReasonNoNodes
		stalled = !reconciling
	}
	// Removed when not True, as kstatus asks; set (keeping the transition time) when True.
	if reconciling {
		set(st, gen, v1alpha1.ConditionReconciling, true, ready.Reason, ready.Message, now)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionReconciling)
	}
	if stalled {
		set(st, gen, v1alpha1.ConditionStalled, true, ready.Reason, ready.Message, now)
	} else {
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionStalled)
	}
}

func condMessage(c *metav1.Condition) string {
	if c == nil {
		return ""
	}
	return c.Message
}
