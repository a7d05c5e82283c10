package runner

import (
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"
)

// Config of a Runner. Zero durations take the defaults below.
type Config struct {
	// MinInterval is the shortest time between two syncs: bursts of events coalesce into one.
	MinInterval time.Duration
	// MaxInterval is the longest time without a sync: a periodic resync that repairs drift.
	MaxInterval time.Duration
	// BackoffBase and BackoffMax bound the retry delay after consecutive failures.
	BackoffBase, BackoffMax time.Duration
}

// Defaults for Config.
const (
	DefaultMinInterval = time.Second
	DefaultMaxInterval = time.Minute
	DefaultBackoffBase = time.Second
	DefaultBackoffMax  = 30 * time.Second
)

// SyncFunc applies the desired state; resync asks it to read the kernel first.
type SyncFunc func(ctx context.Context, resync bool) error

// Runner calls a SyncFunc on a bounded-frequency schedule. Request is safe for concurrent use; Run
// is called once.
type Runner struct {
	sync  SyncFunc
	clock clock.Clock
	kick  chan struct{}

	mu    sync.Mutex
	sched schedule
}

// New returns a Runner; nothing runs until Run.
func New(fn SyncFunc, clk clock.Clock, cfg Config) *Runner {
	def := func(d, v time.Duration) time.Duration {
		if d <= 0 {
			return v
		}
		return d
	}
	return &Runner{
		sync:  fn,
		clock: clk,
		kick:  make(chan struct{}, 1),
		sched: schedule{
			minInterval: def(cfg.MinInterval, DefaultMinInterval),
			maxInterval: def(cfg.MaxInterval, DefaultMaxInterval),
			backoffBase: def(cfg.BackoffBase, DefaultBackoffBase),
			backoffMax:  def(cfg.BackoffMax, DefaultBackoffMax),
		},
	}
}

// Request marks the desired state dirty. It never blocks: many requests before the next sync make
// one sync.
func (r *Runner) Request() {
	r.mu.Lock()
	r.sched.requested++
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run syncs until ctx ends, and then returns without touching the dataplane (fail static).
func (r *Runner) Run(ctx context.Context) {
	log := logr.FromContextOrDiscard(ctx)
	for {
		r.mu.Lock()
		at, resync := r.sched.due()
		gen := r.sched.requested
		r.mu.Unlock()
		if wait := at.Sub(r.clock.Now()); wait > 0 {
			t := r.clock.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-r.kick:
				t.Stop()
			case <-t.C():
			}
			continue
		}
		if ctx.Err() != nil {
			return
		}
		start := r.clock.Now()
		err := r.sync(ctx, resync)
		if err != nil {
			log.Error(err, "sync failed; retrying with backoff", "resync", resync)
		}
		r.mu.Lock()
		r.sched.done(start, gen, err)
		r.mu.Unlock()
	}
}
