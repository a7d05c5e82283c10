package rollout

import (
	"sort"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Control annotations. Their value is a request token (the CLI writes the time of the request, in a
// fixed-width UTC form, so a later request sorts after an earlier one); a value other than the one
// recorded in status.controls is a new request. Annotations are metadata, not spec: a control never
// changes the generation, and Argo CD and Flux see no drift.
const (
	AnnotationPromote  = "rollout.palisade.dev/promote"
	AnnotationPause    = "rollout.palisade.dev/pause"
	AnnotationResume   = "rollout.palisade.dev/resume"
	AnnotationRollback = "rollout.palisade.dev/rollback"
)

// Control verbs, as listed in Decision.Controls.
const (
	ControlPromote  = "promote"
	ControlPause    = "pause"
	ControlResume   = "resume"
	ControlRollback = "rollback"
)

// maxToken is the longest token recorded (the schema's MaxLength on status.controls); a longer value
// is compared and recorded by its first maxToken bytes, so it is still handled exactly once.
const maxToken = 128

// RequestToken is the token format the CLI writes: fixed width, so tokens sort by time.
const RequestToken = "2006-01-02T15:04:05.000000000Z"

type control struct {
	verb   string
	token  string
	record *string
	order  int
}

// requests are the pending control requests of one decision, already folded: later requests override
// earlier ones (pause then resume leaves the rollout running; promote then rollback rolls back).
type requests struct {
	promote, rollback bool
	applied           []string
}

// takeControls records every new control request in c and returns what they ask for. Requests are
// applied in token order (ties in the fixed order pause, resume, rollback, promote), so that the
// latest request wins however many arrived between two decisions.
func takeControls(ann map[string]string, c *v1alpha1.RolloutControls) requests {
	all := []control{
		{ControlPause, ann[AnnotationPause], &c.Pause, 0},
		{ControlResume, ann[AnnotationResume], &c.Resume, 1},
		{ControlRollback, ann[AnnotationRollback], &c.Rollback, 2},
		{ControlPromote, ann[AnnotationPromote], &c.Promote, 3},
	}
	var pending []control
	for _, k := range all {
		k.token = truncate(k.token)
		if k.token != "" && k.token != *k.record {
			pending = append(pending, k)
		}
	}
	sort.SliceStable(pending, func(i, j int) bool {
		if pending[i].token != pending[j].token {
			return pending[i].token < pending[j].token
		}
		return pending[i].order < pending[j].order
	})
	var r requests
	for _, k := range pending {
		*k.record = k.token
		r.applied = append(r.applied, k.verb)
		switch k.verb {
		case ControlPause:
			c.Paused = true
		case ControlResume:
			c.Paused = false
		case ControlRollback:
			r.rollback, r.promote = true, false
		case ControlPromote:
			r.promote, r.rollback = true, false
		}
	}
	return r
}

func truncate(s string) string {
	if len(s) > maxToken {
		return s[:maxToken]
	}
	return s
}
