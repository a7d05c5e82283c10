package source

import (
	"time"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// WindowStarts returns status.evidence.windowStart of every Palisade policy that has one: the start
// of the evidence window its node report counts from (enforcer/report). A policy without evidence
// yet is absent (its window starts at zero: the node counts from when it first programs it).
func (s *Source) WindowStarts() map[engine.PolicyKey]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[engine.PolicyKey]time.Time, len(s.records))
	for k, r := range s.records {
		if ev := r.status.Evidence; ev != nil && ev.WindowStart != nil {
			out[k] = ev.WindowStart.Time
		}
	}
	return out
}
