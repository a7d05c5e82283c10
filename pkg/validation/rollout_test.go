package validation

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func TestValidateRollout(t *testing.T) {
	root := field.NewPath("spec", "rollout")
	full := func(tweak func(*v1alpha1.RolloutSpec)) *v1alpha1.RolloutSpec {
		r := &v1alpha1.RolloutSpec{
			Strategy: v1alpha1.RolloutProgressive,
			Audit:    &v1alpha1.PhaseSpec{MinDuration: dur(10 * time.Minute), MaxDenials: ptr.To[int64](0)},
			Staged: &v1alpha1.StagedPhaseSpec{
				PhaseSpec:     v1alpha1.PhaseSpec{MinDuration: dur(10 * time.Minute), MaxDenials: ptr.To[int64](0)},
				CanaryPercent: ptr.To[int32](10),
			},
			Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](10)},
		}
		if tweak != nil {
			tweak(r)
		}
		return r
	}
	cases := []struct {
		name string
		r    *v1alpha1.RolloutSpec
		want []wantErr
	}{
		{name: "nil", r: nil},
		{name: "empty", r: &v1alpha1.RolloutSpec{}},
		{name: "fully set", r: full(nil)},
		{name: "immediate", r: full(func(r *v1alpha1.RolloutSpec) { r.Strategy = v1alpha1.RolloutImmediate })},
		{name: "paused", r: full(func(r *v1alpha1.RolloutSpec) { r.Paused = true })},
		{name: "zero durations", r: full(func(r *v1alpha1.RolloutSpec) {
			r.Audit.MinDuration, r.Staged.MinDuration = dur(0), dur(0)
		})},
		{name: "canary 1 and 100", r: full(func(r *v1alpha1.RolloutSpec) { r.Staged.CanaryPercent = ptr.To[int32](100) })},
		{name: "deniedPerMinute 1", r: full(func(r *v1alpha1.RolloutSpec) { r.Rollback.DeniedPerMinute = ptr.To[int64](1) })},
		{name: "empty phases", r: &v1alpha1.RolloutSpec{Audit: &v1alpha1.PhaseSpec{}, Staged: &v1alpha1.StagedPhaseSpec{}, Rollback: &v1alpha1.RollbackSpec{}}},
		{name: "strategy unknown", r: full(func(r *v1alpha1.RolloutSpec) { r.Strategy = "progressive" }),
			want: []wantErr{notSup("spec.rollout.strategy", "Progressive", "Immediate")}},
		{name: "audit negative duration", r: full(func(r *v1alpha1.RolloutSpec) { r.Audit.MinDuration = dur(-time.Minute) }),
			want: []wantErr{inv("spec.rollout.audit.minDuration", `must be 0 or more, e.g. "10m"`)}},
		{name: "audit negative denials", r: full(func(r *v1alpha1.RolloutSpec) { r.Audit.MaxDenials = ptr.To[int64](-1) }),
			want: []wantErr{inv("spec.rollout.audit.maxDenials", "must be 0 or more (denials tolerated in the evidence window)")}},
		{name: "staged negative duration", r: full(func(r *v1alpha1.RolloutSpec) { r.Staged.MinDuration = dur(-time.Second) }),
			want: []wantErr{inv("spec.rollout.staged.minDuration", `must be 0 or more, e.g. "10m"`)}},
		{name: "staged negative denials", r: full(func(r *v1alpha1.RolloutSpec) { r.Staged.MaxDenials = ptr.To[int64](-5) }),
			want: []wantErr{inv("spec.rollout.staged.maxDenials", "must be 0 or more (denials tolerated in the evidence window)")}},
		{name: "canary 0", r: full(func(r *v1alpha1.RolloutSpec) { r.Staged.CanaryPercent = ptr.To[int32](0) }),
			want: []wantErr{inv("spec.rollout.staged.canaryPercent", "must be between 1 and 100 (percent of the selected endpoints)")}},
		{name: "canary 101", r: full(func(r *v1alpha1.RolloutSpec) { r.Staged.CanaryPercent = ptr.To[int32](101) }),
			want: []wantErr{inv("spec.rollout.staged.canaryPercent", "must be between 1 and 100 (percent of the selected endpoints)")}},
		{name: "deniedPerMinute 0", r: full(func(r *v1alpha1.RolloutSpec) { r.Rollback.DeniedPerMinute = ptr.To[int64](0) }),
			want: []wantErr{inv("spec.rollout.rollback.deniedPerMinute", "must be 1 or more (denied flows per minute that trigger a step back)")}},
		{name: "everything wrong", r: &v1alpha1.RolloutSpec{
			Strategy: "Canary",
			Audit:    &v1alpha1.PhaseSpec{MinDuration: dur(-1), MaxDenials: ptr.To[int64](-1)},
			Staged:   &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: dur(-1), MaxDenials: ptr.To[int64](-1)}, CanaryPercent: ptr.To[int32](-1)},
			Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](-1)},
		}, want: []wantErr{
			notSup("spec.rollout.strategy", "Progressive", "Immediate"),
			inv("spec.rollout.audit.minDuration", `must be 0 or more, e.g. "10m"`),
			inv("spec.rollout.audit.maxDenials", "must be 0 or more (denials tolerated in the evidence window)"),
			inv("spec.rollout.staged.minDuration", `must be 0 or more, e.g. "10m"`),
			inv("spec.rollout.staged.maxDenials", "must be 0 or more (denials tolerated in the evidence window)"),
			inv("spec.rollout.staged.canaryPercent", "must be between 1 and 100 (percent of the selected endpoints)"),
			inv("spec.rollout.rollback.deniedPerMinute", "must be 1 or more (denied flows per minute that trigger a step back)"),
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkResult(t, ValidateRollout(tc.r, root), nil, tc.want, nil)
		})
	}
}

// TestRolloutInPolicy: the policy validators report rollout errors under spec.rollout.
func TestRolloutInPolicy(t *testing.T) {
	runPolicyCases(t, []policyCase{
		{name: "np rollout error", obj: np(rollout(&v1alpha1.RolloutSpec{Staged: &v1alpha1.StagedPhaseSpec{CanaryPercent: ptr.To[int32](0)}})),
			wantErrs: []wantErr{inv("spec.rollout.staged.canaryPercent", "must be between 1 and 100 (percent of the selected endpoints)")}},
		{name: "gnp rollout error", obj: gnp(rollout(&v1alpha1.RolloutSpec{Strategy: "Fast"})),
			wantErrs: []wantErr{notSup("spec.rollout.strategy", "Progressive", "Immediate")}},
	})
}
