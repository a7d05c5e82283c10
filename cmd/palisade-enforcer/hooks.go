package main

import (
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/report"
	"github.com/palisade-dev/palisade/enforcer/source"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// policySource is what the node report reads from enforcer/source: what is programmed per policy
// and each policy's evidence window.
type policySource interface {
	Policies() []source.PolicyProgram
	WindowStarts() map[engine.PolicyKey]time.Time
}

// programsOf adapts the source's programs to the node report's: the candidate generation, the phase
// as applied, the generation actually enforced and the window the operator counts
// (status.evidence.windowStart), so a node never reports counts under a window it does not count.
func programsOf(src policySource) func() []report.Program {
	return func() []report.Program {
		ps := src.Policies()
		windows := src.WindowStarts()
		out := make([]report.Program, 0, len(ps))
		for _, p := range ps {
			out = append(out, report.Program{
				Key:                p.Key,
				Phase:              v1alpha1.RolloutPhase(p.Phase),
				Generation:         p.CandidateGeneration,
				EnforcedGeneration: p.EnforcedGeneration,
				WindowStart:        windows[p.Key],
			})
		}
		return out
	}
}

// windowSignal coalesces the source's change notifications into at most one pending SyncWindows:
// Notify never blocks (the informers' handlers call it on every change, pods included), and the
// observation goroutine hands the new windows to the observer when it gets to it, so a window the
// operator starts again counts from its first sample rather than from the next report tick.
type windowSignal chan struct{}

func newWindowSignal() windowSignal { return make(windowSignal, 1) }

// Notify asks for a SyncWindows; a request already pending absorbs it.
func (s windowSignal) Notify() {
	select {
	case s <- struct{}{}:
	default:
	}
}
