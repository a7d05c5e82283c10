package runner

import (
	"context"
	"errors"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

type call struct {
	at     time.Time
	resync bool
}

// harness runs a Runner on a fake clock; each sync reports on calls and returns the next error from errs.
type harness struct {
	t     *testing.T
	clk   *clocktesting.FakeClock
	r     *Runner
	calls chan call
	errs  chan error
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clk: clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), calls: make(chan call, 10), errs: make(chan error, 10)}
	h.r = New(func(_ context.Context, resync bool) error {
		h.calls <- call{h.clk.Now(), resync}
		select {
		case err := <-h.errs:
			return err
		default:
			return nil
		}
	}, h.clk, Config{MinInterval: time.Second, MaxInterval: time.Minute, BackoffBase: 2 * time.Second, BackoffMax: 8 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.r.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return h
}

// expect waits for the next sync and checks when it ran and whether it was a resync.
func (h *harness) expect(after time.Duration, resync bool) {
	h.t.Helper()
	want := h.clk.Now().Add(after)
	for h.clk.Now().Before(want) {
		h.waitBlocked()
		select {
		case c := <-h.calls:
			h.t.Fatalf("sync at %v, expected none before %v", c.at, want)
		default:
		}
		h.clk.SetTime(want)
	}
	select {
	case c := <-h.calls:
		if !c.at.Equal(want) || c.resync != resync {
			h.t.Fatalf("sync at %v resync=%v; want at %v resync=%v", c.at, c.resync, want, resync)
		}
	case <-time.After(5 * time.Second):
		h.t.Fatalf("no sync at %v", want)
	}
}

// waitBlocked waits until the runner waits on its timer.
func (h *harness) waitBlocked() {
	deadline := time.Now().Add(5 * time.Second)
	for !h.clk.HasWaiters() {
		if time.Now().After(deadline) {
			h.t.Fatal("runner never waited on its timer")
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *harness) none() {
	h.t.Helper()
	h.waitBlocked()
	select {
	case c := <-h.calls:
		h.t.Fatalf("unexpected sync at %v", c.at)
	default:
	}
}

func TestRunner(t *testing.T) {
	h := newHarness(t)
	h.expect(0, true) // first sync at once, adopting the kernel
	h.none()

	// A burst of requests makes one sync, MinInterval after the last.
	h.r.Request()
	h.r.Request()
	h.r.Request()
	h.expect(time.Second, false)
	h.none()

	// Idle: the periodic resync runs MaxInterval after the last success.
	h.expect(time.Minute, true)

	// A failure is retried with backoff, as resyncs, until it succeeds.
	h.errs <- errors.New("restore failed")
	h.errs <- errors.New("restore failed")
	h.r.Request()
	h.expect(time.Second, false)
	h.expect(2*time.Second, true)
	h.expect(4*time.Second, true)
	h.none()
	h.expect(time.Minute, true)
}
