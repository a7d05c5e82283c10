package validation

import (
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

var supportedStrategies = []string{string(v1alpha1.RolloutProgressive), string(v1alpha1.RolloutImmediate)}

// ValidateRollout checks spec.rollout. Unset fields are fine (defaulting fills them); set ones must be
// usable by the rollout planner: durations and denial budgets not negative, a canary share that
// selects something, and a rollback threshold that a single denial per minute can reach.
func ValidateRollout(r *v1alpha1.RolloutSpec, fldPath *field.Path) field.ErrorList {
	if r == nil {
		return nil
	}
	var errs field.ErrorList
	switch r.Strategy {
	case "", v1alpha1.RolloutProgressive, v1alpha1.RolloutImmediate:
	default:
		errs = append(errs, field.NotSupported(fldPath.Child("strategy"), r.Strategy, supportedStrategies))
	}
	if r.Audit != nil {
		errs = append(errs, validatePhase(r.Audit, fldPath.Child("audit"))...)
	}
	if s := r.Staged; s != nil {
		sp := fldPath.Child("staged")
		errs = append(errs, validatePhase(&s.PhaseSpec, sp)...)
		if s.CanaryPercent != nil && (*s.CanaryPercent < 1 || *s.CanaryPercent > 100) {
			errs = append(errs, field.Invalid(sp.Child("canaryPercent"), *s.CanaryPercent, "must be between 1 and 100 (percent of the selected endpoints)"))
		}
	}
	if rb := r.Rollback; rb != nil && rb.DeniedPerMinute != nil && *rb.DeniedPerMinute < 1 {
		errs = append(errs, field.Invalid(fldPath.Child("rollback", "deniedPerMinute"), *rb.DeniedPerMinute, "must be 1 or more (denied flows per minute that trigger a step back)"))
	}
	return errs
}

func validatePhase(ph *v1alpha1.PhaseSpec, p *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ph.MinDuration != nil && ph.MinDuration.Duration < 0 {
		errs = append(errs, field.Invalid(p.Child("minDuration"), ph.MinDuration.Duration.String(), `must be 0 or more, e.g. "10m"`))
	}
	if ph.MaxDenials != nil && *ph.MaxDenials < 0 {
		errs = append(errs, field.Invalid(p.Child("maxDenials"), *ph.MaxDenials, "must be 0 or more (denials tolerated in the evidence window)"))
	}
	return errs
}
