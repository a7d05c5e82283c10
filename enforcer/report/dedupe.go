package report

import "time"

// Dedupe defaults: TCP gives up a SYN after about two minutes of retransmissions
// (tcp_syn_retries 6), conntrack forgets an unanswered UDP flow after 30 seconds.
const (
	DefaultDedupeSize   = 1 << 16
	DefaultDedupeWindow = 2 * time.Minute
)

// dedupe remembers the connections seen in the last window, at most size of them: a connection
// seen again within window of its last sighting is a repeat. When full, the connection inserted
// first is forgotten (a repeat of it after that counts again: the cache bounds memory, and a
// count may be over by the evictions, which are counted).
type dedupe struct {
	window  time.Duration
	last    map[connKey]time.Time
	ring    []connKey
	next    int
	evicted int64
}

func newDedupe(size int, window time.Duration) *dedupe {
	if size <= 0 {
		size = DefaultDedupeSize
	}
	if window <= 0 {
		window = DefaultDedupeWindow
	}
	// The map grows with use: preallocated for the bound it would spread a few keys over
	// megabytes, a cache miss per lookup.
	return &dedupe{window: window, last: map[connKey]time.Time{}, ring: make([]connKey, 0, size)}
}

// repeat reports whether k was seen within the window before now, and records the sighting.
func (d *dedupe) repeat(k connKey, now time.Time) bool {
	if t, ok := d.last[k]; ok {
		d.last[k] = now
		return now.Sub(t) <= d.window
	}
	if len(d.ring) < cap(d.ring) {
		d.ring = append(d.ring, k)
	} else {
		delete(d.last, d.ring[d.next])
		d.ring[d.next] = k
		d.next = (d.next + 1) % len(d.ring)
		d.evicted++
	}
	d.last[k] = now
	return false
}
