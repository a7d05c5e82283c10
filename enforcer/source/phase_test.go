package source

import (
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func TestPlanFor(t *testing.T) {
	st := func(observed int64, phase v1alpha1.RolloutPhase, enforced int64, canary int32) v1alpha1.PolicyStatus {
		return v1alpha1.PolicyStatus{ObservedGeneration: observed, Phase: phase, EnforcedGeneration: enforced, CanaryPercent: canary}
	}
	for _, tc := range []struct {
		name      string
		gen       int64
		immediate bool
		status    v1alpha1.PolicyStatus
		want      plan
	}{
		{"no status, progressive: audit, nothing enforced", 1, false, v1alpha1.PolicyStatus{},
			plan{phase: v1alpha1.PhaseAudit, enforced: fromNothing, candidate: true}},
		{"no status, immediate: enforced as written", 1, true, v1alpha1.PolicyStatus{},
			plan{phase: v1alpha1.PhaseEnforced, enforced: fromSpec, enforcedGeneration: 1}},
		{"audit of the first generation", 1, false, st(1, v1alpha1.PhaseAudit, 0, 0),
			plan{phase: v1alpha1.PhaseAudit, enforced: fromNothing, candidate: true}},
		{"staged: canary share", 1, false, st(1, v1alpha1.PhaseStaged, 0, 50),
			plan{phase: v1alpha1.PhaseStaged, enforced: fromNothing, candidate: true, canaryPercent: 50}},
		{"staged share above 100 is capped", 1, false, st(1, v1alpha1.PhaseStaged, 0, 150),
			plan{phase: v1alpha1.PhaseStaged, enforced: fromNothing, candidate: true, canaryPercent: 100}},
		{"enforced: the spec", 3, false, st(3, v1alpha1.PhaseEnforced, 3, 0),
			plan{phase: v1alpha1.PhaseEnforced, enforced: fromSpec, enforcedGeneration: 3}},
		{"enforced phase wins over a lagging enforcedGeneration", 3, false, st(3, v1alpha1.PhaseEnforced, 2, 0),
			plan{phase: v1alpha1.PhaseEnforced, enforced: fromSpec, enforcedGeneration: 3}},
		{"new generation in audit: previous from its revision", 3, false, st(3, v1alpha1.PhaseAudit, 2, 0),
			plan{phase: v1alpha1.PhaseAudit, enforced: fromRevision, enforcedGeneration: 2, candidate: true}},
		{"new generation staged over the previous", 3, false, st(3, v1alpha1.PhaseStaged, 2, 10),
			plan{phase: v1alpha1.PhaseStaged, enforced: fromRevision, enforcedGeneration: 2, candidate: true, canaryPercent: 10}},
		{"audit but the candidate is the enforced generation (rolled back onto itself)", 3, false, st(3, v1alpha1.PhaseAudit, 3, 0),
			plan{phase: v1alpha1.PhaseAudit, enforced: fromSpec, enforcedGeneration: 3}},
		{"edited, status not observed yet: the old Enforced does not enforce the new spec", 4, false, st(3, v1alpha1.PhaseEnforced, 3, 0),
			plan{phase: v1alpha1.PhaseAudit, enforced: fromRevision, enforcedGeneration: 3, candidate: true}},
		{"edited, status not observed yet, immediate: enforced", 4, true, st(3, v1alpha1.PhaseAudit, 3, 0),
			plan{phase: v1alpha1.PhaseEnforced, enforced: fromSpec, enforcedGeneration: 4}},
		{"stale staged share is not applied to an unobserved generation", 4, false, st(3, v1alpha1.PhaseStaged, 2, 50),
			plan{phase: v1alpha1.PhaseAudit, enforced: fromRevision, enforcedGeneration: 2, candidate: true}},
		{"staged with share 0: nothing canary", 2, false, st(2, v1alpha1.PhaseStaged, 1, 0),
			plan{phase: v1alpha1.PhaseStaged, enforced: fromRevision, enforcedGeneration: 1, candidate: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planFor(tc.gen, tc.immediate, tc.status); got != tc.want {
				t.Fatalf("planFor(%d, %v, %+v) = %+v, want %+v", tc.gen, tc.immediate, tc.status, got, tc.want)
			}
		})
	}
}
