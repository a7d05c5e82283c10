package runner

import (
	"errors"
	"testing"
	"time"
)

func TestScheduleDue(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := func(d int) time.Time { return t0.Add(time.Duration(d) * time.Second) }
	boom := errors.New("boom")
	type step struct {
		start   int // seconds after t0
		err     error
		request int // requests made after this sync
	}
	tests := []struct {
		name       string
		steps      []step
		initialReq int
		wantAt     time.Time
		wantResync bool
	}{
		{"first sync runs at once and adopts", nil, 0, time.Time{}, true},
		{"idle: periodic resync after max interval", []step{{start: 0}}, 0, s(60), true},
		{"request: after min interval, no resync", []step{{start: 0, request: 3}}, 0, s(1), false},
		{"request after a later sync: min interval from it", []step{{start: 0}, {start: 59, request: 1}}, 0, s(60), false},
		{"failure: backoff base, resync", []step{{start: 0, err: boom}}, 0, s(1), true},
		{"failures double", []step{{start: 0, err: boom}, {start: 1, err: boom}, {start: 3, err: boom}}, 0, s(7), true},
		{"backoff capped", []step{{start: 0, err: boom}, {start: 1, err: boom}, {start: 3, err: boom}, {start: 7, err: boom}, {start: 15, err: boom}, {start: 31, err: boom}, {start: 61, err: boom}}, 0, s(91), true},
		{"success resets backoff", []step{{start: 0, err: boom}, {start: 1}}, 0, s(61), true},
		{"request made during a failing sync waits for the retry", []step{{start: 0, err: boom, request: 1}}, 0, s(1), true},
		{"request covered by the sync that followed", []step{{start: 0}}, 2, s(60), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := schedule{minInterval: time.Second, maxInterval: time.Minute, backoffBase: time.Second, backoffMax: 30 * time.Second}
			sc.requested = uint64(tt.initialReq)
			for _, st := range tt.steps {
				sc.done(s(st.start), sc.requested, st.err)
				sc.requested += uint64(st.request)
			}
			at, resync := sc.due()
			if !at.Equal(tt.wantAt) || resync != tt.wantResync {
				t.Fatalf("due() = %v, %v; want %v, %v", at, resync, tt.wantAt, tt.wantResync)
			}
		})
	}
}
