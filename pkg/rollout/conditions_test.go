package rollout

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

var (
	t0 = metav1.NewTime(epoch)
	t1 = metav1.NewTime(epoch.Add(interval))
)

func cond(typ string, ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: 3, LastTransitionTime: t1}
}

// byType sorts conditions for comparison; the order in status is not part of the contract.
var byType = cmpopts.SortSlices(func(a, b metav1.Condition) bool { return a.Type < b.Type })

// TestConditions sets every condition from one status and compares them whole, with exact
// Type/Status/Reason/Message.
func TestConditions(t *testing.T) {
	for _, tc := range []struct {
		name     string
		st       v1alpha1.PolicyStatus
		invalid  string
		waiting  []string
		stepped  bool
		decision Decision
		paused   bool
		want     []metav1.Condition
	}{
		{
			name:     "programmed in Audit is Ready",
			st:       v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 2, NodesProgrammed: 3, NodesDesired: 3},
			decision: Decision{Action: ActionHold, Reason: ReasonWaiting, Message: "Audit for 1m of 5m"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", true, "Programmed", "3/3 nodes programmed generation 3 in Audit, generation 2 enforced"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", true, "WaitingForMinDuration", "Audit for 1m of 5m"),
				cond("Ready", true, "Programmed", "3/3 nodes programmed generation 3 in Audit, generation 2 enforced"),
			},
		},
		{
			name:     "programming is Reconciling",
			st:       v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseStaged, NodesProgrammed: 1, NodesDesired: 3},
			waiting:  []string{"node-b", "node-c"},
			decision: Decision{Action: ActionPromote, Reason: ReasonPromoted, Message: "0 flows would-deny"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", false, "Programming", "1/3 nodes programmed generation 3 in Staged, no generation enforced; waiting for node-b, node-c"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", true, "Promoted", "0 flows would-deny"),
				cond("Ready", false, "Programming", "1/3 nodes programmed generation 3 in Staged, no generation enforced; waiting for node-b, node-c"),
				cond("Reconciling", true, "Programming", "1/3 nodes programmed generation 3 in Staged, no generation enforced; waiting for node-b, node-c"),
			},
		},
		{
			name:     "no nodes",
			st:       v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit},
			decision: Decision{Action: ActionStart, Reason: ReasonNewPolicy, Message: "generation 3 starts in Audit"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", false, "NoNodes", "no enforcer node reports on this policy"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", true, "NewPolicy", "generation 3 starts in Audit"),
				cond("Ready", false, "NoNodes", "no enforcer node reports on this policy"),
				cond("Reconciling", true, "NoNodes", "no enforcer node reports on this policy"),
			},
		},
		{
			name: "step back is Degraded and Stalled",
			st: v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 2, NodesProgrammed: 2, NodesDesired: 2,
				Controls: &v1alpha1.RolloutControls{HeldGeneration: 3}},
			stepped:  true,
			decision: Decision{Action: ActionStepBack, Reason: ReasonSteppedBack, Message: "20 denials"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", true, "Programmed", "2/2 nodes programmed generation 3 in Audit, generation 2 enforced"),
				cond("Degraded", true, "SteppedBack", "20 denials"),
				cond("Progressing", false, "SteppedBack", "20 denials"),
				cond("Ready", false, "SteppedBack", "20 denials"),
				cond("Stalled", true, "SteppedBack", "20 denials"),
			},
		},
		{
			name: "held generation keeps the step back's condition",
			st: v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 2, NodesProgrammed: 2, NodesDesired: 2,
				Controls:   &v1alpha1.RolloutControls{HeldGeneration: 3},
				Conditions: []metav1.Condition{{Type: "Degraded", Status: metav1.ConditionTrue, Reason: "RolledBack", Message: "rollback requested", ObservedGeneration: 3, LastTransitionTime: t0}}},
			decision: Decision{Action: ActionHold, Reason: ReasonHeld, Message: "held"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", true, "Programmed", "2/2 nodes programmed generation 3 in Audit, generation 2 enforced"),
				{Type: "Degraded", Status: metav1.ConditionTrue, Reason: "RolledBack", Message: "rollback requested", ObservedGeneration: 3, LastTransitionTime: t0},
				cond("Progressing", false, "HeldAfterStepBack", "held"),
				cond("Ready", false, "RolledBack", "rollback requested"),
				cond("Stalled", true, "RolledBack", "rollback requested"),
			},
		},
		{
			name:     "invalid",
			st:       v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 2, NodesProgrammed: 2, NodesDesired: 2},
			invalid:  "spec.selector: bad",
			decision: Decision{Action: ActionHold, Reason: ReasonInvalid, Message: "the candidate is invalid"},
			want: []metav1.Condition{
				cond("Valid", false, "Invalid", "spec.selector: bad"),
				cond("Programmed", true, "Programmed", "2/2 nodes programmed generation 3 in Audit, generation 2 enforced"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", false, "Invalid", "the candidate is invalid"),
				cond("Ready", false, "Invalid", "spec.selector: bad"),
				cond("Stalled", true, "Invalid", "spec.selector: bad"),
			},
		},
		{
			name:     "paused in Staged is Ready and not Progressing",
			st:       v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseStaged, NodesProgrammed: 1, NodesDesired: 1},
			paused:   true,
			decision: Decision{Action: ActionHold, Reason: ReasonPaused, Message: "paused in Staged"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", true, "Programmed", "1/1 nodes programmed generation 3 in Staged, no generation enforced"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", false, "Paused", "paused in Staged"),
				cond("Ready", true, "Programmed", "1/1 nodes programmed generation 3 in Staged, no generation enforced"),
			},
		},
		{
			name:     "enforced",
			st:       v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: 3, NodesProgrammed: 1, NodesDesired: 1},
			paused:   true,
			decision: Decision{Action: ActionHold, Reason: ReasonEnforced, Message: "generation 3 enforced"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", true, "Programmed", "1/1 nodes programmed generation 3 in Enforced"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", false, "Enforced", "generation 3 enforced"),
				cond("Ready", true, "Programmed", "1/1 nodes programmed generation 3 in Enforced"),
			},
		},
		{
			name: "Reconciling and Stalled are removed once False",
			st: v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: 3, NodesProgrammed: 1, NodesDesired: 1,
				Conditions: []metav1.Condition{
					{Type: "Reconciling", Status: metav1.ConditionTrue, Reason: "Programming", ObservedGeneration: 3, LastTransitionTime: t0},
					{Type: "Stalled", Status: metav1.ConditionTrue, Reason: "Invalid", ObservedGeneration: 2, LastTransitionTime: t0},
				}},
			decision: Decision{Action: ActionHold, Reason: ReasonEnforced, Message: "generation 3 enforced"},
			want: []metav1.Condition{
				cond("Valid", true, "Compiled", "generation 3 compiles"),
				cond("Programmed", true, "Programmed", "1/1 nodes programmed generation 3 in Enforced"),
				cond("Degraded", false, "NotDegraded", "no step back"),
				cond("Progressing", false, "Enforced", "generation 3 enforced"),
				cond("Ready", true, "Programmed", "1/1 nodes programmed generation 3 in Enforced"),
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := *tc.st.DeepCopy()
			SetValidCondition(&st, 3, tc.invalid, t1)
			SetProgrammedCondition(&st, 3, tc.waiting, t1)
			SetDegradedCondition(&st, 3, tc.stepped, tc.decision.Reason, tc.decision.Message, t1)
			SetProgressingCondition(&st, 3, tc.decision, tc.paused, tc.invalid != "", t1)
			SetReadyCondition(&st, 3, t1)
			SetKstatusConditions(&st, 3, t1)
			if diff := cmp.Diff(tc.want, st.Conditions, byType); diff != "" {
				t.Errorf("conditions (-want +got):\n%s", diff)
			}
		})
	}
}

// TestConditionTransitionTime: an unchanged condition keeps its transition time, a changed one takes
// the decision's time — never the wall clock.
func TestConditionTransitionTime(t *testing.T) {
	st := v1alpha1.PolicyStatus{Conditions: []metav1.Condition{
		{Type: "Valid", Status: metav1.ConditionTrue, Reason: "Compiled", Message: "old", ObservedGeneration: 2, LastTransitionTime: t0},
	}}
	SetValidCondition(&st, 3, "", t1)
	if got := st.Conditions[0]; !got.LastTransitionTime.Equal(&t0) || got.Message != "generation 3 compiles" || got.ObservedGeneration != 3 {
		t.Errorf("unchanged status: got %+v, want transition time %s kept and message, generation updated", got, t0)
	}
	SetValidCondition(&st, 3, "bad", t1)
	if got := st.Conditions[0]; !got.LastTransitionTime.Equal(&t1) {
		t.Errorf("changed status: transition time %s, want %s", got.LastTransitionTime, t1)
	}
}
