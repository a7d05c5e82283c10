package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// Progress states: what a rollout is doing about its next phase.
const (
	progressWaiting  = "Waiting"  // a window is running; Fraction says how far
	progressDue      = "Due"      // the window is over; the operator decides when every node's evidence covers it
	progressWatching = "Watching" // newly Enforced: steps back if denials pass the threshold until the watch ends
	progressDone     = "Done"     // Enforced, nothing more to happen
	progressPaused   = "Paused"
	progressHeld     = "Held" // stepped back or rolled back: stays in Audit until promoted or edited
	progressPending  = "Pending"
)

// progressJSON is a rollout's progress toward its next phase.
type progressJSON struct {
	State string `json:"state"`
	// Toward is the next phase ("" when Enforced or when nothing moves).
	Toward string `json:"toward,omitempty"`
	// Percent of the current window (or watch) elapsed, 0-100.
	Percent int `json:"percent"`
	// ElapsedSeconds and TotalSeconds measure the window or the watch.
	ElapsedSeconds int64 `json:"elapsedSeconds,omitempty"`
	TotalSeconds   int64 `json:"totalSeconds,omitempty"`
}

// progressOf says how far a policy is toward its next phase at now, from its status and rollout
// settings (the API server's defaults where the stored object has none).
func progressOf(p policy, now time.Time) progressJSON {
	r := &v1alpha1.RolloutSpec{}
	if p.rollout != nil {
		r = p.rollout.DeepCopy()
	}
	defaulting.Rollout(r)
	st := p.status
	switch {
	case st.Phase == "" || st.ObservedGeneration != p.generation:
		return progressJSON{State: progressPending}
	case st.Controls != nil && st.Controls.HeldGeneration == p.generation:
		return progressJSON{State: progressHeld}
	}
	start := st.PhaseSince
	if st.Evidence != nil && st.Evidence.WindowStart != nil {
		start = st.Evidence.WindowStart
	}
	var total time.Duration
	var toward v1alpha1.RolloutPhase
	state := progressWaiting
	switch st.Phase {
	case v1alpha1.PhaseAudit:
		total, toward = r.Audit.MinDuration.Duration, v1alpha1.PhaseStaged
	case v1alpha1.PhaseStaged:
		total, toward = r.Staged.MinDuration.Duration, v1alpha1.PhaseEnforced
	case v1alpha1.PhaseEnforced:
		if r.Strategy == v1alpha1.RolloutImmediate || st.PhaseSince == nil || now.Sub(st.PhaseSince.Time) >= r.Staged.MinDuration.Duration {
			return progressJSON{State: progressDone, Percent: 100}
		}
		start, total, state = st.PhaseSince, r.Staged.MinDuration.Duration, progressWatching
	}
	if (r.Paused || (st.Controls != nil && st.Controls.Paused)) && st.Phase != v1alpha1.PhaseEnforced {
		state = progressPaused
	}
	pr := progressJSON{State: state, Toward: string(toward), TotalSeconds: int64(total / time.Second)}
	if start == nil || total <= 0 {
		return pr
	}
	elapsed := max(now.Sub(start.Time), 0)
	if elapsed >= total {
		elapsed = total
		if state == progressWaiting {
			pr.State = progressDue
		}
	}
	pr.ElapsedSeconds = int64(elapsed / time.Second)
	pr.Percent = int(elapsed * 100 / total)
	return pr
}

// barWidth is the progress bar's width in cells on a terminal.
const barWidth = 20

// text renders the progress for the status output: a bar on a terminal, plain text otherwise.
func (p progressJSON) text(bar bool) string {
	measure := ""
	if p.TotalSeconds > 0 {
		measure = fmt.Sprintf(" (%s of %s)", shortDuration(time.Duration(p.ElapsedSeconds)*time.Second), shortDuration(time.Duration(p.TotalSeconds)*time.Second))
	}
	pct := fmt.Sprintf("%d%%", p.Percent)
	if bar {
		filled := p.Percent * barWidth / 100
		pct = "[" + strings.Repeat("█", filled) + strings.Repeat("░", barWidth-filled) + "] " + pct
	}
	switch p.State {
	case progressPending:
		return "waiting for the operator to decide on this generation"
	case progressHeld:
		return "held in Audit after a step back or rollback: promote it or edit the policy"
	case progressDone:
		return "enforced"
	case progressWatching:
		return pct + " of the watch after promotion" + measure + ": steps back if denials pass the threshold"
	case progressPaused:
		return pct + " toward " + p.Toward + measure + ", paused: it will not be promoted until resumed"
	case progressDue:
		return pct + " toward " + p.Toward + measure + ": window over, promoted once every node's evidence covers it"
	}
	return pct + " toward " + p.Toward + measure
}

// shortDuration renders a duration the way kubectl renders ages: 45s, 3m20s, 2h5m, 3d4h.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%dh", h)
		}
		return fmt.Sprintf("%dh%dm", h, m)
	}
	days, h := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour)
	return fmt.Sprintf("%dd%dh", days, h)
}
