package defaulting

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Rollout defaults. A policy evaluated for ten minutes in Audit and ten in Staged with no denials at
// all is promoted; ten denials a minute after promotion step it back.
const (
	// DefaultStrategy is the rollout strategy when none is given.
	DefaultStrategy = v1alpha1.RolloutProgressive
	// DefaultAuditMinDuration is the least time in Audit, and its evidence window.
	DefaultAuditMinDuration = 10 * time.Minute
	// DefaultAuditMaxDenials is the most would-be denials in the Audit window that allow promotion.
	DefaultAuditMaxDenials int64 = 0
	// DefaultStagedMinDuration is the least time in Staged, and its evidence window.
	DefaultStagedMinDuration = 10 * time.Minute
	// DefaultStagedMaxDenials is the most denials in the Staged window that allow promotion.
	DefaultStagedMaxDenials int64 = 0
	// DefaultCanaryPercent is the share of selected endpoints enforced while Staged.
	DefaultCanaryPercent int32 = 10
	// DefaultRollbackDeniedPerMinute is the denial rate that steps a Staged or Enforced generation back.
	DefaultRollbackDeniedPerMinute int64 = 10
)

// Rollout fills every unset field of r in place; set fields (including an explicit 0) are kept.
// Every phase is filled even for the Immediate strategy, so that switching strategy later needs no
// other change and what is stored says exactly what would happen. A nil r is left alone.
func Rollout(r *v1alpha1.RolloutSpec) {
	if r == nil {
		return
	}
	if r.Strategy == "" {
		r.Strategy = DefaultStrategy
	}
	if r.Audit == nil {
		r.Audit = &v1alpha1.PhaseSpec{}
	}
	phase(r.Audit, DefaultAuditMinDuration, DefaultAuditMaxDenials)
	if r.Staged == nil {
		r.Staged = &v1alpha1.StagedPhaseSpec{}
	}
	phase(&r.Staged.PhaseSpec, DefaultStagedMinDuration, DefaultStagedMaxDenials)
	if r.Staged.CanaryPercent == nil {
		r.Staged.CanaryPercent = ptr.To(DefaultCanaryPercent)
	}
	if r.Rollback == nil {
		r.Rollback = &v1alpha1.RollbackSpec{}
	}
	if r.Rollback.DeniedPerMinute == nil {
		r.Rollback.DeniedPerMinute = ptr.To(DefaultRollbackDeniedPerMinute)
	}
}

func phase(p *v1alpha1.PhaseSpec, minDuration time.Duration, maxDenials int64) {
	if p.MinDuration == nil {
		p.MinDuration = &metav1.Duration{Duration: minDuration}
	}
	if p.MaxDenials == nil {
		p.MaxDenials = ptr.To(maxDenials)
	}
}
