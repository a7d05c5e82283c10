package rollout

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzPlan feeds the planner statuses, specs and reports no operator would write (missing times,
// negative limits, unknown phases, generations that disagree) and checks that it never panics, that
// an Enforced phase always names the candidate as enforced and the other
// phases never do, and that a generation only becomes enforced by being the candidate or the previous
// one.
func FuzzPlan(f *testing.F) {
	f.Add(int64(3), int64(3), uint8(1), int64(2), true, int64(5), int64(0), int32(10), int64(10), uint8(2), int64(0), int64(0), int64(60), false, "")
	f.Add(int64(1), int64(0), uint8(0), int64(0), false, int64(0), int64(-1), int32(0), int64(0), uint8(0), int64(-5), int64(99), int64(0), true, "t")
	f.Fuzz(func(t *testing.T, gen, observed int64, phase uint8, enforced int64, hasSince bool, minMinutes, maxDenials int64, canary int32,
		rollback int64, nodes uint8, wouldDeny, denied, ageSeconds int64, immediate bool, token string) {
		phases := []v1alpha1.RolloutPhase{"", v1alpha1.PhaseAudit, v1alpha1.PhaseStaged, v1alpha1.PhaseEnforced, "Bogus"}
		ph := phases[int(phase)%len(phases)]
		now := epoch.Add(time.Hour)
		in := Input{
			Generation: gen,
			Spec: &v1alpha1.RolloutSpec{
				Audit:    &v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: time.Duration(minMinutes) * time.Minute}, MaxDenials: ptr.To(maxDenials)},
				Staged:   &v1alpha1.StagedPhaseSpec{CanaryPercent: ptr.To(canary)},
				Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To(rollback)},
			},
			Status:         v1alpha1.PolicyStatus{ObservedGeneration: observed, Phase: ph, EnforcedGeneration: enforced},
			Annotations:    map[string]string{AnnotationPromote: token, AnnotationRollback: token + "r"},
			ReportInterval: time.Minute,
			Now:            now,
		}
		if immediate {
			in.Spec.Strategy = v1alpha1.RolloutImmediate
		}
		if hasSince {
			s := metav1.NewTime(epoch)
			in.Status.PhaseSince = &s
			in.Status.Evidence = &v1alpha1.Evidence{WindowStart: &s}
		}
		for i := range int(nodes % 4) {
			n := string(rune('a' + i))
			in.Nodes = append(in.Nodes, n)
			in.Reports = append(in.Reports, NodeReport{Node: n, ObservedAt: now.Add(-time.Duration(ageSeconds) * time.Second),
				Generation: gen, Phase: ph, WindowStart: epoch, Window: Counts{WouldDeny: wouldDeny, Denied: denied}, Recent: Counts{Denied: denied}})
		}
		r := Plan(in)
		st := r.Status
		if d := r.Decision; d.Action == "" || d.Reason == "" {
			t.Errorf("empty decision %+v", d)
		}
		if gen > 0 && (st.Phase == v1alpha1.PhaseEnforced) != (st.EnforcedGeneration == gen) {
			t.Errorf("phase %s, generation %d, enforced %d", st.Phase, gen, st.EnforcedGeneration)
		}
		if st.EnforcedGeneration != enforced && st.EnforcedGeneration != gen && st.EnforcedGeneration != in.Status.PreviousEnforcedGeneration {
			t.Errorf("enforced %d came from nowhere (was %d, candidate %d)", st.EnforcedGeneration, enforced, gen)
		}
	})
}
