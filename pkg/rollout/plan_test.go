package rollout

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// outcome is the part of a Result these tables compare.
type outcome struct {
	Action   Action
	Reason   string
	Phase    v1alpha1.RolloutPhase
	Enforced int64
	Previous int64
	Paused   bool
	Held     int64
	Requeue  time.Duration // from Now; -1 for none
	Controls []string
}

func outcomeOf(in Input, r Result) outcome {
	o := outcome{Action: r.Decision.Action, Reason: r.Decision.Reason, Phase: r.Status.Phase,
		Enforced: r.Status.EnforcedGeneration, Previous: r.Status.PreviousEnforcedGeneration, Requeue: -1, Controls: r.Decision.Controls}
	if c := r.Status.Controls; c != nil {
		o.Paused, o.Held = c.Paused, c.HeldGeneration
	}
	if !r.RequeueAt.IsZero() {
		o.Requeue = r.RequeueAt.Sub(in.Now)
	}
	return o
}

type tweak func(*Input)

// planInput is generation 3 of a policy at minute 30 whose generation 2 is enforced, in phase ph since
// minute 20 (window start the same), with two nodes reporting on exactly that, quietly, a minute ago.
func planInput(ph v1alpha1.RolloutPhase, tweaks ...tweak) Input {
	since := metav1.NewTime(epoch.Add(20 * time.Minute))
	enforced := int64(2)
	if ph == v1alpha1.PhaseEnforced {
		enforced = 3
	}
	in := Input{
		Generation: 3,
		Spec: &v1alpha1.RolloutSpec{
			Audit:    &v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: auditMin}, MaxDenials: ptr.To[int64](0)},
			Staged:   &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: stagedMin}, MaxDenials: ptr.To[int64](0)}, CanaryPercent: ptr.To[int32](20)},
			Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](10)},
		},
		Status: v1alpha1.PolicyStatus{ObservedGeneration: 3, Phase: ph, PhaseSince: &since, EnforcedGeneration: enforced,
			Evidence: &v1alpha1.Evidence{WindowStart: since.DeepCopy()}},
		Nodes:          []string{"node-a", "node-b"},
		ReportInterval: interval,
		Now:            epoch.Add(30 * time.Minute),
	}
	if ph == v1alpha1.PhaseStaged {
		in.Status.CanaryPercent = 20
	}
	for _, n := range in.Nodes {
		in.Reports = append(in.Reports, NodeReport{Node: n, ObservedAt: in.Now.Add(-interval / 2), Generation: 3, Phase: ph,
			EnforcedGeneration: enforced, WindowStart: since.Time, Window: Counts{Allowed: 50}, Recent: Counts{Allowed: 5}})
	}
	for _, t := range tweaks {
		t(&in)
	}
	return in
}

func fresh(in *Input)       { in.Status = v1alpha1.PolicyStatus{}; in.Generation = 1 }
func immediate(in *Input)   { in.Spec.Strategy = v1alpha1.RolloutImmediate }
func pausedSpec(in *Input)  { in.Spec.Paused = true }
func ann(k, v string) tweak { return func(in *Input) { in.Annotations = map[string]string{k: v} } }
func anns(kv ...string) tweak {
	return func(in *Input) {
		in.Annotations = map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			in.Annotations[kv[i]] = kv[i+1]
		}
	}
}
func recent(n string, c Counts) tweak {
	return func(in *Input) {
		for i := range in.Reports {
			if in.Reports[i].Node == n {
				in.Reports[i].Recent = c
			}
		}
	}
}
func window(n string, c Counts) tweak {
	return func(in *Input) {
		for i := range in.Reports {
			if in.Reports[i].Node == n {
				in.Reports[i].Window = c
			}
		}
	}
}
func reportAt(n string, d time.Duration) tweak {
	return func(in *Input) {
		for i := range in.Reports {
			if in.Reports[i].Node == n {
				in.Reports[i].ObservedAt = epoch.Add(d)
			}
		}
	}
}

// sinceMin moves the start of the phase and of its window, and the nodes with it.
func sinceMin(m int) tweak {
	return func(in *Input) {
		t := metav1.NewTime(epoch.Add(time.Duration(m) * time.Minute))
		in.Status.PhaseSince, in.Status.Evidence.WindowStart = &t, t.DeepCopy()
		for i := range in.Reports {
			in.Reports[i].WindowStart = t.Time
		}
	}
}

func held(in *Input) { in.Status.Controls = &v1alpha1.RolloutControls{HeldGeneration: 3} }

func TestPlan(t *testing.T) {
	long := strings.Repeat("x", 200)
	for _, tc := range []struct {
		name string
		in   Input
		want outcome
	}{
		{"new policy, Progressive: Audit, nothing enforced", planInput(v1alpha1.PhaseAudit, fresh),
			outcome{Action: ActionStart, Reason: ReasonNewPolicy, Phase: v1alpha1.PhaseAudit, Requeue: auditMin}},
		{"new policy, Immediate: Enforced at once", planInput(v1alpha1.PhaseAudit, fresh, immediate),
			outcome{Action: ActionStart, Reason: ReasonImmediate, Phase: v1alpha1.PhaseEnforced, Enforced: 1, Requeue: -1}},
		{"new policy, Immediate but paused: Audit, held", planInput(v1alpha1.PhaseAudit, fresh, immediate, pausedSpec),
			outcome{Action: ActionStart, Reason: ReasonNewPolicy, Phase: v1alpha1.PhaseAudit, Requeue: -1}},
		{"new policy, Immediate but invalid: Audit", planInput(v1alpha1.PhaseAudit, fresh, immediate, func(in *Input) { in.Invalid = "bad" }),
			outcome{Action: ActionStart, Reason: ReasonNewPolicy, Phase: v1alpha1.PhaseAudit, Requeue: -1}},
		{"nil spec takes the defaults (10m Audit)", planInput(v1alpha1.PhaseAudit, fresh, func(in *Input) { in.Spec = nil }),
			outcome{Action: ActionStart, Reason: ReasonNewPolicy, Phase: v1alpha1.PhaseAudit, Requeue: 10 * time.Minute}},
		{"new generation while enforced: Audit, previous stays enforced", planInput(v1alpha1.PhaseEnforced, func(in *Input) { in.Generation = 4 }),
			outcome{Action: ActionStart, Reason: ReasonNewGeneration, Phase: v1alpha1.PhaseAudit, Enforced: 3, Requeue: auditMin}},
		{"new generation releases a held one", planInput(v1alpha1.PhaseAudit, held, func(in *Input) { in.Generation = 4 }),
			outcome{Action: ActionStart, Reason: ReasonNewGeneration, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: auditMin}},
		{"quiet Audit window over: Staged", planInput(v1alpha1.PhaseAudit),
			outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin}},
		{"quiet Staged window over: Enforced, previous remembered", planInput(v1alpha1.PhaseStaged),
			outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: stagedMin}},
		{"window not over", planInput(v1alpha1.PhaseAudit, sinceMin(27)),
			outcome{Action: ActionHold, Reason: ReasonWaiting, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: 2 * time.Minute}},
		{"would-deny over tolerance restarts the window", planInput(v1alpha1.PhaseAudit, window("node-b", Counts{WouldDeny: 1})),
			outcome{Action: ActionHold, Reason: ReasonDenials, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: auditMin}},
		{"would-deny within tolerance promotes", planInput(v1alpha1.PhaseAudit, window("node-b", Counts{WouldDeny: 1}), func(in *Input) { *in.Spec.Audit.MaxDenials = 1 }),
			outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin}},
		{"would-deny does not hold Staged, canary denials do", planInput(v1alpha1.PhaseStaged, window("node-b", Counts{WouldDeny: 9, Denied: 1})),
			outcome{Action: ActionHold, Reason: ReasonDenials, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin}},
		{"a report from before the window end does not cover it", planInput(v1alpha1.PhaseAudit, sinceMin(24), reportAt("node-a", 28*time.Minute+59*time.Second)),
			outcome{Action: ActionHold, Reason: ReasonEvidenceAbsent, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: interval}},
		{"a report on another window does not count", planInput(v1alpha1.PhaseAudit, func(in *Input) { in.Reports[1].WindowStart = epoch }),
			outcome{Action: ActionHold, Reason: ReasonEvidenceAbsent, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: interval}},
		{"a report on another generation does not count", planInput(v1alpha1.PhaseAudit, func(in *Input) { in.Reports[0].Generation = 2 }),
			outcome{Action: ActionHold, Reason: ReasonEvidenceAbsent, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: interval}},
		{"a stale node blocks promotion", planInput(v1alpha1.PhaseAudit, reportAt("node-b", 26*time.Minute+59*time.Second)),
			outcome{Action: ActionHold, Reason: ReasonEvidenceStale, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: interval}},
		{"a missing node blocks promotion", planInput(v1alpha1.PhaseAudit, func(in *Input) { in.Nodes = append(in.Nodes, "node-c") }),
			outcome{Action: ActionHold, Reason: ReasonEvidenceAbsent, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: interval}},
		{"no nodes never promotes", planInput(v1alpha1.PhaseAudit, func(in *Input) { in.Nodes = nil }),
			outcome{Action: ActionHold, Reason: ReasonEvidenceAbsent, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: -1}},
		{"reports of nodes not desired are ignored", planInput(v1alpha1.PhaseAudit, func(in *Input) {
			in.Reports = append(in.Reports, NodeReport{Node: "gone", ObservedAt: in.Now, Generation: 3, Phase: v1alpha1.PhaseAudit, WindowStart: in.Reports[0].WindowStart, Window: Counts{WouldDeny: 99}})
		}), outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin}},
		{"a node's newest report counts", planInput(v1alpha1.PhaseAudit, func(in *Input) {
			old := in.Reports[0]
			old.ObservedAt, old.Window = old.ObservedAt.Add(-time.Minute), Counts{WouldDeny: 5}
			in.Reports = append([]NodeReport{old}, in.Reports...)
		}), outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin}},
		{"no report interval: nothing is trusted", planInput(v1alpha1.PhaseAudit, func(in *Input) { in.ReportInterval = 0 }),
			outcome{Action: ActionHold, Reason: ReasonEvidenceStale, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: 0}},
		{"Staged denials at the threshold hold", planInput(v1alpha1.PhaseStaged, recent("node-a", Counts{Denied: 10})),
			outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: stagedMin}},
		{"Staged denials above the threshold step back", planInput(v1alpha1.PhaseStaged, recent("node-a", Counts{Denied: 6}), recent("node-b", Counts{Denied: 5})),
			outcome{Action: ActionStepBack, Reason: ReasonSteppedBack, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1}},
		{"would-deny never steps back", planInput(v1alpha1.PhaseStaged, recent("node-a", Counts{WouldDeny: 500})),
			outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: stagedMin}},
		{"step back while paused", planInput(v1alpha1.PhaseStaged, pausedSpec, recent("node-a", Counts{Denied: 11})),
			outcome{Action: ActionStepBack, Reason: ReasonSteppedBack, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1}},
		{"newly Enforced steps back to the previous generation", planInput(v1alpha1.PhaseEnforced, sinceMin(27), recent("node-a", Counts{Denied: 11}), func(in *Input) { in.Status.PreviousEnforcedGeneration = 2 }),
			outcome{Action: ActionStepBack, Reason: ReasonSteppedBack, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1}},
		{"Enforced after the watch does not step back", planInput(v1alpha1.PhaseEnforced, recent("node-a", Counts{Denied: 500}), func(in *Input) { in.Status.PreviousEnforcedGeneration = 2 }),
			outcome{Action: ActionHold, Reason: ReasonEnforced, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: -1}},
		{"Immediate never steps back", planInput(v1alpha1.PhaseEnforced, immediate, sinceMin(29), recent("node-a", Counts{Denied: 500})),
			outcome{Action: ActionHold, Reason: ReasonEnforced, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Requeue: -1}},
		{"Enforced status that names another generation is repaired", planInput(v1alpha1.PhaseEnforced, func(in *Input) { in.Status.EnforcedGeneration = 2 }),
			outcome{Action: ActionHold, Reason: ReasonEnforced, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: -1}},
		{"held stays in Audit however clean", planInput(v1alpha1.PhaseAudit, held),
			outcome{Action: ActionHold, Reason: ReasonHeld, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1}},
		{"Immediate in Audit after a resume: Enforced", planInput(v1alpha1.PhaseAudit, immediate, sinceMin(29)),
			outcome{Action: ActionPromote, Reason: ReasonImmediate, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: -1}},
		{"paused by spec", planInput(v1alpha1.PhaseAudit, pausedSpec),
			outcome{Action: ActionHold, Reason: ReasonPaused, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: -1}},
		{"pause request", planInput(v1alpha1.PhaseAudit, ann(AnnotationPause, "t1")),
			outcome{Action: ActionHold, Reason: ReasonPaused, Phase: v1alpha1.PhaseAudit, Enforced: 2, Paused: true, Requeue: -1, Controls: []string{"pause"}}},
		{"pause then resume: running", planInput(v1alpha1.PhaseAudit, anns(AnnotationPause, "t1", AnnotationResume, "t2")),
			outcome{Action: ActionPromote, Reason: ReasonPromoted, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin, Controls: []string{"pause", "resume"}}},
		{"resume then pause: paused", planInput(v1alpha1.PhaseAudit, anns(AnnotationPause, "t2", AnnotationResume, "t1")),
			outcome{Action: ActionHold, Reason: ReasonPaused, Phase: v1alpha1.PhaseAudit, Enforced: 2, Paused: true, Requeue: -1, Controls: []string{"resume", "pause"}}},
		{"a request already acted on is not acted on again", planInput(v1alpha1.PhaseAudit, ann(AnnotationPromote, "t1"), func(in *Input) { in.Status.Controls = &v1alpha1.RolloutControls{Promote: "t1"} }, sinceMin(29)),
			outcome{Action: ActionHold, Reason: ReasonWaiting, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: 4 * time.Minute}},
		{"promote request skips the window", planInput(v1alpha1.PhaseAudit, ann(AnnotationPromote, "t1"), sinceMin(29)),
			outcome{Action: ActionPromote, Reason: ReasonPromoteRequest, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin, Controls: []string{"promote"}}},
		{"promote request releases a held generation", planInput(v1alpha1.PhaseAudit, held, ann(AnnotationPromote, "t1")),
			outcome{Action: ActionPromote, Reason: ReasonPromoteRequest, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: stagedMin, Controls: []string{"promote"}}},
		{"promote request while paused still promotes", planInput(v1alpha1.PhaseStaged, pausedSpec, ann(AnnotationPromote, "t1")),
			outcome{Action: ActionPromote, Reason: ReasonPromoteRequest, Phase: v1alpha1.PhaseEnforced, Enforced: 3, Previous: 2, Requeue: stagedMin, Controls: []string{"promote"}}},
		{"promote request on an invalid candidate is refused", planInput(v1alpha1.PhaseAudit, ann(AnnotationPromote, "t1"), func(in *Input) { in.Invalid = "bad" }),
			outcome{Action: ActionHold, Reason: ReasonInvalid, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: -1, Controls: []string{"promote"}}},
		{"promote then rollback: rolled back", planInput(v1alpha1.PhaseStaged, anns(AnnotationPromote, "t1", AnnotationRollback, "t2")),
			outcome{Action: ActionRollback, Reason: ReasonRolledBack, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1, Controls: []string{"promote", "rollback"}}},
		{"rollback in Audit holds and enforces nothing new", planInput(v1alpha1.PhaseAudit, ann(AnnotationRollback, "t1")),
			outcome{Action: ActionRollback, Reason: ReasonRolledBack, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1, Controls: []string{"rollback"}}},
		{"rollback of an enforced generation after the watch", planInput(v1alpha1.PhaseEnforced, ann(AnnotationRollback, "t1"), func(in *Input) { in.Status.PreviousEnforcedGeneration = 2 }),
			outcome{Action: ActionRollback, Reason: ReasonRolledBack, Phase: v1alpha1.PhaseAudit, Enforced: 2, Held: 3, Requeue: -1, Controls: []string{"rollback"}}},
		{"a long token is acted on", planInput(v1alpha1.PhaseAudit, ann(AnnotationPause, long)),
			outcome{Action: ActionHold, Reason: ReasonPaused, Phase: v1alpha1.PhaseAudit, Enforced: 2, Paused: true, Requeue: -1, Controls: []string{"pause"}}},
		{"deleting decides nothing", planInput(v1alpha1.PhaseStaged, recent("node-a", Counts{Denied: 500}), func(in *Input) { in.Deleting = true }),
			outcome{Action: ActionNone, Reason: ReasonDeleting, Phase: v1alpha1.PhaseStaged, Enforced: 2, Requeue: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Plan(tc.in)
			if diff := cmp.Diff(tc.want, outcomeOf(tc.in, r)); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s: %s", diff, r.Decision.Reason, r.Decision.Message)
			}
			// The same decision again from what was written: no new transition, no request acted on twice.
			again := tc.in
			again.Status = r.Status
			if r2 := Plan(again); r2.Decision.Transition() || len(r2.Decision.Controls) > 0 {
				t.Errorf("deciding again: %s %s (%v)", r2.Decision.Action, r2.Decision.Reason, r2.Decision.Controls)
			}
		})
	}
}

// TestPlanLongTokenRecordedTruncated: a token longer than the schema allows is recorded by its first
// 128 bytes, so the status write is accepted and the request is still acted on once.
func TestPlanLongTokenRecordedTruncated(t *testing.T) {
	in := planInput(v1alpha1.PhaseAudit, ann(AnnotationPause, strings.Repeat("x", 200)))
	r := Plan(in)
	if got := len(r.Status.Controls.Pause); got != 128 {
		t.Errorf("recorded token of %d bytes, want 128", got)
	}
}

// TestPlanDoesNotChangeInput: the planner works on copies.
func TestPlanDoesNotChangeInput(t *testing.T) {
	in := planInput(v1alpha1.PhaseStaged, recent("node-a", Counts{Denied: 50}), ann(AnnotationPause, "t"))
	before := planInput(v1alpha1.PhaseStaged, recent("node-a", Counts{Denied: 50}), ann(AnnotationPause, "t"))
	Plan(in)
	if diff := cmp.Diff(before, in); diff != "" {
		t.Errorf("Plan changed its input:\n%s", diff)
	}
}

// TestPlanRequestWithEdit: a promote made while the spec changed is recorded, not acted on.
func TestPlanRequestWithEdit(t *testing.T) {
	in := planInput(v1alpha1.PhaseStaged, ann(AnnotationPromote, "t1"), func(in *Input) { in.Generation = 4 })
	r := Plan(in)
	got := outcomeOf(in, r)
	want := outcome{Action: ActionStart, Reason: ReasonNewGeneration, Phase: v1alpha1.PhaseAudit, Enforced: 2, Requeue: auditMin, Controls: []string{"promote"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r.Status.Controls.Promote != "t1" {
		t.Errorf("promote request not recorded: %+v", r.Status.Controls)
	}
	if !strings.HasSuffix(r.Decision.Message, "a promote or rollback request made before this generation is not acted on") {
		t.Errorf("message %q does not say the request was not acted on", r.Decision.Message)
	}
}
