package rollout

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// Plan makes one decision. It is deterministic: the same Input gives the same Result whatever the
// order of Input.Nodes and Input.Reports, and planning again from the returned status at the same
// Now decides nothing new.
//
// The phases and their rules (docs/rollout.md tells them for users):
//   - a new generation starts in Audit (Enforced at once when Immediate) while the last enforced
//     generation stays enforced;
//   - Audit → Staged and Staged → Enforced when the phase's evidence window (its minimum duration)
//     is over, every node has reported fresh evidence covering it, and it holds no more denials than
//     tolerated (would-deny in Audit, denials on the canary in Staged); a window over tolerance starts
//     again;
//   - Staged, or Enforced for less than the Staged minimum duration after promotion, steps back to
//     Audit when the denial rate passes rollback.deniedPerMinute, re-enforcing the previous good
//     generation; the generation is then held in Audit until a promote request or a new generation;
//   - paused (spec or a pause request) holds promotions; it does not hold a step back;
//   - control requests: promote moves one phase on at once, rollback acts as a step back.
func Plan(in Input) Result {
	p := newPlanner(in)
	if in.Deleting {
		// Revisions are owned by the policy and go with it; nothing is left to decide, and the status
		// is kept as it is so the last decision stays visible while finalizers run.
		return Result{Status: *in.Status.DeepCopy(), Decision: Decision{
			Action: ActionNone, From: in.Status.Phase, To: in.Status.Phase,
			Reason: ReasonDeleting, Message: "the policy is being deleted",
		}}
	}
	p.decide()
	p.setEvidence()
	p.setConditions()
	p.d.To = p.st.Phase
	return Result{Status: p.st, Decision: p.d, RequeueAt: p.requeue}
}

type planner struct {
	in      Input
	spec    v1alpha1.RolloutSpec
	st      v1alpha1.PolicyStatus
	nodes   nodeView
	req     requests
	d       Decision
	requeue time.Time
	// stepped is set when this decision stepped back or rolled back, for the Degraded condition.
	stepped bool
}

func newPlanner(in Input) *planner {
	spec := v1alpha1.RolloutSpec{}
	if in.Spec != nil {
		in.Spec.DeepCopyInto(&spec)
	}
	defaulting.Rollout(&spec)
	p := &planner{in: in, spec: spec, st: *in.Status.DeepCopy(), nodes: viewNodes(in)}
	p.d.From = in.Status.Phase
	return p
}

func (p *planner) now() *metav1.Time { t := metav1.NewTime(p.in.Now); return &t }

func (p *planner) paused() bool {
	return p.spec.Paused || (p.st.Controls != nil && p.st.Controls.Paused)
}

func (p *planner) held() bool {
	return p.st.Controls != nil && p.st.Controls.HeldGeneration == p.in.Generation
}

func (p *planner) immediate() bool { return p.spec.Strategy == v1alpha1.RolloutImmediate }

func (p *planner) phaseSpec() v1alpha1.PhaseSpec {
	if p.st.Phase == v1alpha1.PhaseStaged {
		return p.spec.Staged.PhaseSpec
	}
	return *p.spec.Audit
}

func (p *planner) decide() {
	if p.st.Controls == nil {
		p.st.Controls = &v1alpha1.RolloutControls{}
	}
	p.req = takeControls(p.in.Annotations, p.st.Controls)
	p.d.Controls = p.req.applied
	known := p.st.Phase == v1alpha1.PhaseAudit || p.st.Phase == v1alpha1.PhaseStaged || p.st.Phase == v1alpha1.PhaseEnforced
	if !known || p.in.Status.ObservedGeneration != p.in.Generation {
		// A phase this version does not know starts over like a new generation.
		p.start()
		p.st.ObservedGeneration = p.in.Generation
		if p.req.promote || p.req.rollback {
			// A promote or rollback made while the spec changed under it names no generation for sure:
			// it is recorded and not acted on; the new generation starts from the beginning.
			p.d.Message += "; a promote or rollback request made before this generation is not acted on"
		}
		return
	}
	p.st.ObservedGeneration = p.in.Generation
	if p.st.PhaseSince == nil {
		p.st.PhaseSince = p.now() // a status written without it (by hand, by tests): the phase counts from now
	}
	if p.st.Phase != v1alpha1.PhaseEnforced && p.st.EnforcedGeneration == p.in.Generation {
		// A status that enforces the candidate outside Enforced (written by hand or by tests) is read as
		// Enforced: what the nodes enforce is kept, never dropped on a contradiction.
		p.setPhase(v1alpha1.PhaseEnforced)
	}
	switch {
	case p.req.rollback:
		p.stepBack(ActionRollback, ReasonRolledBack, "rollback requested")
	case p.req.promote:
		p.promoteRequested()
	case p.stepBackDue():
	case p.in.Invalid != "":
		p.hold(ReasonInvalid, "the candidate is invalid and is not promoted: "+p.in.Invalid)
	case p.held():
		p.hold(ReasonHeld, fmt.Sprintf("generation %d stepped back and stays in Audit until promoted or edited", p.in.Generation))
	case p.paused() && p.st.Phase != v1alpha1.PhaseEnforced:
		p.hold(ReasonPaused, fmt.Sprintf("paused in %s", p.st.Phase))
	case p.immediate() && p.st.Phase != v1alpha1.PhaseEnforced:
		p.enforce(ReasonImmediate, "strategy Immediate: enforced at once")
	case p.st.Phase == v1alpha1.PhaseEnforced:
		p.enforced()
	default:
		p.judgeWindow()
	}
}

// start puts a new generation (or a policy without a phase) in its first phase. The enforced
// generation is left as it is: the previous generation stays enforced while the new one is evaluated.
func (p *planner) start() {
	first := p.st.Phase == ""
	if p.st.Controls.HeldGeneration != 0 && p.st.Controls.HeldGeneration != p.in.Generation {
		p.st.Controls.HeldGeneration = 0 // an edit releases a held generation
	}
	if p.st.EnforcedGeneration == p.in.Generation && p.in.Generation != 0 {
		// The candidate is already the enforced generation (a status from elsewhere): it stays enforced.
		p.d.Action = ActionStart
		p.setPhase(v1alpha1.PhaseEnforced)
		p.d.Reason, p.d.Message = ReasonEnforced, fmt.Sprintf("generation %d is already enforced", p.in.Generation)
		return
	}
	if p.immediate() && p.in.Invalid == "" && !p.paused() {
		p.d.Action = ActionStart
		p.setPhase(v1alpha1.PhaseEnforced)
		p.makeEnforced()
		p.d.Reason, p.d.Message = ReasonImmediate, fmt.Sprintf("generation %d: strategy Immediate: enforced at once", p.in.Generation)
		return
	}
	p.d.Action = ActionStart
	p.setPhase(v1alpha1.PhaseAudit)
	p.d.Reason = ReasonNewGeneration
	if first {
		p.d.Reason = ReasonNewPolicy
	}
	msg := fmt.Sprintf("generation %d starts in Audit", p.in.Generation)
	if p.st.EnforcedGeneration != 0 {
		msg += fmt.Sprintf(" while generation %d stays enforced", p.st.EnforcedGeneration)
	}
	switch {
	case p.in.Invalid != "":
		msg += "; it is invalid and is not promoted: " + p.in.Invalid
	case p.paused():
		msg += "; paused"
	default:
		p.requeue = p.in.Now.Add(p.spec.Audit.MinDuration.Duration)
	}
	p.d.Message = msg
}

// setPhase enters a phase now: a new phase has a new evidence window.
func (p *planner) setPhase(ph v1alpha1.RolloutPhase) {
	p.st.Phase = ph
	p.st.PhaseSince = p.now()
	p.st.Evidence = &v1alpha1.Evidence{WindowStart: p.now()}
	p.st.CanaryPercent, p.st.CanaryEndpoints = 0, 0
	if ph == v1alpha1.PhaseStaged {
		p.st.CanaryPercent = *p.spec.Staged.CanaryPercent
	}
}

// makeEnforced makes the candidate the enforced generation, remembering the one it replaces.
func (p *planner) makeEnforced() {
	if p.st.EnforcedGeneration != p.in.Generation {
		p.st.PreviousEnforcedGeneration = p.st.EnforcedGeneration
		p.st.EnforcedGeneration = p.in.Generation
	}
}

func (p *planner) hold(reason, msg string) {
	p.d.Action, p.d.Reason, p.d.Message = ActionHold, reason, msg
}

func (p *planner) enforce(reason, msg string) {
	p.d.Action, p.d.Reason, p.d.Message = ActionPromote, reason, msg
	p.setPhase(v1alpha1.PhaseEnforced)
	p.makeEnforced()
	p.watchUntil()
}

// watchUntil requeues at the end of the watch after a progressive promotion to Enforced.
func (p *planner) watchUntil() {
	if !p.immediate() {
		p.requeue = p.st.PhaseSince.Add(p.spec.Staged.MinDuration.Duration)
	}
}

func (p *planner) promote(reason, msg string) {
	switch {
	case p.immediate() || p.st.Phase == v1alpha1.PhaseStaged:
		p.enforce(reason, msg)
	case p.st.Phase == v1alpha1.PhaseAudit:
		p.d.Action, p.d.Reason, p.d.Message = ActionPromote, reason, msg
		p.setPhase(v1alpha1.PhaseStaged)
		p.requeue = p.in.Now.Add(p.spec.Staged.MinDuration.Duration)
	}
}

func (p *planner) promoteRequested() {
	if p.in.Invalid != "" {
		p.hold(ReasonInvalid, "promote requested, but the candidate is invalid: "+p.in.Invalid)
		return
	}
	if p.st.Phase == v1alpha1.PhaseEnforced {
		p.st.Controls.HeldGeneration = 0
		p.enforced()
		p.d.Message = "promote requested, already enforced; " + p.d.Message
		return
	}
	p.st.Controls.HeldGeneration = 0
	p.promote(ReasonPromoteRequest, fmt.Sprintf("promote requested: %s → %s without waiting for evidence", p.st.Phase, next(p.st.Phase, p.immediate())))
}

func next(ph v1alpha1.RolloutPhase, immediate bool) v1alpha1.RolloutPhase {
	if ph == v1alpha1.PhaseAudit && !immediate {
		return v1alpha1.PhaseStaged
	}
	return v1alpha1.PhaseEnforced
}

// watching reports whether an Enforced generation is still watched for a step back: progressive
// rollouts only, for the Staged minimum duration after promotion.
func (p *planner) watching() bool {
	return p.st.Phase == v1alpha1.PhaseEnforced && !p.immediate() && p.st.PhaseSince != nil &&
		p.in.Now.Before(p.st.PhaseSince.Add(p.spec.Staged.MinDuration.Duration))
}

// stepBackDue steps back and returns true when the candidate's denials pass the rollback threshold
// in Staged or while watched after promotion. Only fresh reports about the current phase count.
func (p *planner) stepBackDue() bool {
	if p.st.Phase != v1alpha1.PhaseStaged && !p.watching() {
		return false
	}
	rate, denied := p.nodes.deniedPerMinute(p.in.Generation, p.st.Phase, p.st.PhaseSince.Time, p.in.ReportInterval)
	limit := *p.spec.Rollback.DeniedPerMinute
	if rate <= float64(limit) {
		return false
	}
	p.stepBack(ActionStepBack, ReasonSteppedBack, fmt.Sprintf("%d denials in the last %s (%.1f/min, threshold %d/min) in %s",
		denied, p.in.ReportInterval, rate, limit, p.st.Phase))
	return true
}

// stepBack returns the candidate to Audit and holds it there; when it was enforced, the previous good
// generation is enforced again.
func (p *planner) stepBack(a Action, reason, why string) {
	from := p.st.Phase
	if p.st.EnforcedGeneration == p.in.Generation {
		p.st.EnforcedGeneration = p.st.PreviousEnforcedGeneration
		p.st.PreviousEnforcedGeneration = 0
	}
	p.setPhase(v1alpha1.PhaseAudit)
	p.st.Controls.HeldGeneration = p.in.Generation
	p.stepped = true
	p.d.Action, p.d.Reason = a, reason
	enforced := "nothing is enforced"
	if p.st.EnforcedGeneration != 0 {
		enforced = fmt.Sprintf("generation %d is enforced", p.st.EnforcedGeneration)
	}
	p.d.Message = fmt.Sprintf("%s: generation %d back from %s to Audit, %s", why, p.in.Generation, from, enforced)
}

func (p *planner) enforced() {
	if p.st.EnforcedGeneration != p.in.Generation {
		p.makeEnforced() // Phase Enforced means the candidate is enforced; repair a status that says otherwise
	}
	if p.watching() {
		end := p.st.PhaseSince.Add(p.spec.Staged.MinDuration.Duration)
		p.hold(ReasonWatching, fmt.Sprintf("generation %d enforced; steps back if denials pass %d/min until %s",
			p.in.Generation, *p.spec.Rollback.DeniedPerMinute, end.UTC().Format(time.RFC3339)))
		p.requeue = end
		return
	}
	p.hold(ReasonEnforced, fmt.Sprintf("generation %d enforced", p.in.Generation))
}

// judgeWindow decides Audit and Staged on the evidence window.
func (p *planner) judgeWindow() {
	ps := p.phaseSpec()
	minDur, most := ps.MinDuration.Duration, *ps.MaxDenials
	if p.st.Evidence == nil || p.st.Evidence.WindowStart == nil {
		p.st.Evidence = &v1alpha1.Evidence{WindowStart: p.st.PhaseSince.DeepCopy()}
		if p.st.Evidence.WindowStart == nil {
			p.st.Evidence.WindowStart = p.now()
		}
	}
	ws := p.st.Evidence.WindowStart.Time
	c := p.nodes.window(p.in.Generation, p.st.Phase, ws)
	seen, what := c.WouldDeny, "would-deny"
	if p.st.Phase == v1alpha1.PhaseStaged {
		seen, what = c.Denied, "denied on the canary"
	}
	if seen > most {
		p.hold(ReasonDenials, fmt.Sprintf("%d flows %s since %s, at most %d tolerated: the window starts again",
			seen, what, ws.UTC().Format(time.RFC3339), most))
		p.st.Evidence = &v1alpha1.Evidence{WindowStart: p.now()}
		p.requeue = p.in.Now.Add(minDur)
		return
	}
	end := ws.Add(minDur)
	if p.in.Now.Before(end) {
		p.hold(ReasonWaiting, fmt.Sprintf("%s for %s of %s; %d flows %s, at most %d tolerated",
			p.st.Phase, p.in.Now.Sub(ws), minDur, seen, what, most))
		p.requeue = end
		return
	}
	retry := p.in.Now.Add(p.in.ReportInterval)
	switch {
	case len(p.nodes.nodes) == 0:
		p.hold(ReasonEvidenceAbsent, "no enforcer node reports on this policy: missing evidence never promotes")
		return
	case len(p.nodes.stale) > 0:
		p.hold(ReasonEvidenceStale, fmt.Sprintf("reports older than %d intervals are not trusted: %s", StaleReports, names(p.nodes.stale)))
		p.requeue = retry
		return
	}
	if waiting := append(append([]string(nil), p.nodes.missing...), p.nodes.uncovered(p.in.Generation, p.st.Phase, ws, end)...); len(waiting) > 0 {
		p.hold(ReasonEvidenceAbsent, "waiting for reports covering the whole window from "+names(sortedCopy(waiting)))
		p.requeue = retry
		return
	}
	p.promote(ReasonPromoted, fmt.Sprintf("%d flows %s in %s on %d nodes, at most %d tolerated",
		seen, what, minDur, len(p.nodes.nodes), most))
}

// setEvidence writes the counts of the current window, summed over the fresh reports counting it.
// Top flows are the operator's to fill; they are kept while the window is the same.
func (p *planner) setEvidence() {
	if p.st.Evidence == nil || p.st.Evidence.WindowStart == nil {
		return
	}
	c := p.nodes.window(p.in.Generation, p.st.Phase, p.st.Evidence.WindowStart.Time)
	p.st.Evidence.WouldDeny, p.st.Evidence.Denied, p.st.Evidence.Allowed = c.WouldDeny, c.Denied, c.Allowed
	old := p.in.Status.Evidence
	if old == nil || old.WindowStart == nil || !old.WindowStart.Equal(p.st.Evidence.WindowStart) || p.st.Phase != p.in.Status.Phase {
		p.st.Evidence.TopFlows = nil
	}
}
