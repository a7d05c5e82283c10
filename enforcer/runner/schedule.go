package runner

import "time"

// schedule decides when the next sync runs and whether it is a resync. It holds no clock: every
// method takes the time, so it is tested as a table.
type schedule struct {
	minInterval, maxInterval time.Duration
	backoffBase, backoffMax  time.Duration

	ran         bool      // a sync has been attempted
	lastRun     time.Time // start of the last attempt
	lastSuccess time.Time
	failures    int // consecutive failures
	requested   uint64
	applied     uint64 // the request generation the last successful sync covered
}

// due returns when the next sync should start and whether it should read the kernel first.
func (s *schedule) due() (at time.Time, resync bool) {
	if !s.ran {
		return time.Time{}, true // the first sync adopts the kernel's state
	}
	earliest := s.lastRun.Add(s.minInterval)
	if s.failures > 0 {
		return later(earliest, s.lastRun.Add(s.backoff())), true
	}
	periodic := s.lastSuccess.Add(s.maxInterval)
	if s.requested != s.applied {
		if !periodic.After(earliest) {
			return earliest, true
		}
		return earliest, false
	}
	return later(earliest, periodic), true
}

func (s *schedule) backoff() time.Duration {
	d := s.backoffBase
	for i := 1; i < s.failures && d < s.backoffMax; i++ {
		d *= 2
	}
	return min(d, s.backoffMax)
}

// done records the outcome of a sync that started at start and covered request generation gen.
func (s *schedule) done(start time.Time, gen uint64, err error) {
	s.ran = true
	s.lastRun = start
	if err != nil {
		s.failures++
		return
	}
	s.failures = 0
	s.lastSuccess = start
	s.applied = gen
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
