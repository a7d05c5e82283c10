package policy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/pkg/validation"
)

// The API server starts truncating warnings to 256 runes each once a response's warnings exceed 4 KiB
// in total (k8s.io/apiserver/pkg/warning). Keeping at most maxWarnings of at most maxWarningRunes
// each stays under that, so what the webhook says is what the user reads.
const (
	maxWarnings     = 12
	maxWarningRunes = 256
)

// toWarnings renders findings as admission warnings ("FIELD: message"), bounded in number and length.
// Notices (findings without a field, such as the checks being cut short) come first and are never
// dropped; then the findings in the order given. When some are dropped the last warning says how
// many.
func toWarnings(ws []validation.Warning) admission.Warnings {
	if len(ws) == 0 {
		return nil
	}
	ordered := make([]validation.Warning, 0, len(ws))
	for _, w := range ws {
		if w.Field == "" {
			ordered = append(ordered, w)
		}
	}
	for _, w := range ws {
		if w.Field != "" {
			ordered = append(ordered, w)
		}
	}
	out := make(admission.Warnings, 0, min(len(ordered), maxWarnings))
	for i, w := range ordered {
		if i >= maxWarnings-1 && len(ordered) > maxWarnings && w.Field != "" {
			out = append(out, fmt.Sprintf("%d more warnings not shown", len(ordered)-i))
			break
		}
		if w.Field == "" {
			out = append(out, truncate(w.Message))
			continue
		}
		out = append(out, truncate(w.String()))
	}
	return out
}

// cutShortNotice says that the cluster checks did not all run, so that an absent finding is not read
// as a clean bill: the policy is admitted all the same.
func cutShortNotice(reason string) validation.Warning {
	return validation.Warning{Message: "Palisade's cluster checks were cut short (" + reason +
		"); the findings of the others are unknown, and the policy is admitted"}
}

// errorsAsWarnings turns field errors into warnings, for the Kubernetes NetworkPolicy webhook, which
// never denies.
func errorsAsWarnings(errs field.ErrorList) []validation.Warning {
	out := make([]validation.Warning, 0, len(errs))
	for _, e := range errs {
		out = append(out, validation.Warning{Field: e.Field, Message: e.ErrorBody()})
	}
	return out
}

func truncate(s string) string {
	if r := []rune(s); len(r) > maxWarningRunes {
		return string(r[:maxWarningRunes-1]) + "…"
	}
	return s
}
