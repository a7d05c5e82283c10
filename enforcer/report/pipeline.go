package report

import (
	"context"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/utils/clock"

	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// SideObserver is the part of *observe.Observer the pipeline feeds.
type SideObserver interface {
	ObserveSide(f engine.Flow, dir engine.Direction, enforced engine.Chooser, at time.Time) error
}

// Pipeline decodes the observation group's records, drops repeats and feeds the rest to the
// observer. It is used by one goroutine (Run); Handle is exported for tests and benchmarks.
type Pipeline struct {
	observer SideObserver
	chooser  func() engine.Chooser
	clock    clock.PassiveClock
	metrics  *Metrics
	dedupe   *dedupe
	evicted  int64
	// samples caches the Samples series: a label lookup per sample costs as much as parsing it.
	samples map[[2]string]prometheus.Counter
}

func (p *Pipeline) sample(kind, outcome string) {
	k := [2]string{kind, outcome}
	c := p.samples[k]
	if c == nil {
		c = p.metrics.Samples.WithLabelValues(kind, outcome)
		p.samples[k] = c
	}
	c.Inc()
}

// PipelineConfig configures a Pipeline.
type PipelineConfig struct {
	// Observer counts the samples.
	Observer SideObserver
	// Chooser returns the dataplane's current chooser (a Staged policy's candidate is enforced on
	// its canary); nil: engine.EnforcedOnly.
	Chooser func() engine.Chooser
	// Clock times the samples (the windows they count in) and the dedupe window.
	Clock clock.PassiveClock
	// DedupeSize and DedupeWindow bound the repeat cache (defaults DefaultDedupeSize,
	// DefaultDedupeWindow).
	DedupeSize   int
	DedupeWindow time.Duration
	// Metrics receives the counters; nil creates unregistered ones.
	Metrics *Metrics
}

// NewPipeline returns a pipeline.
func NewPipeline(cfg PipelineConfig) *Pipeline {
	if cfg.Chooser == nil {
		cfg.Chooser = func() engine.Chooser { return engine.EnforcedOnly }
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	return &Pipeline{observer: cfg.Observer, chooser: cfg.Chooser, clock: cfg.Clock, metrics: cfg.Metrics,
		dedupe: newDedupe(cfg.DedupeSize, cfg.DedupeWindow), samples: map[[2]string]prometheus.Counter{}}
}

// Run handles records until the channel is closed or ctx is done. The reader never waits for it:
// when Run falls behind, the reader drops samples and counts them.
func (p *Pipeline) Run(ctx context.Context, records <-chan nflog.Record) {
	log := logr.FromContextOrDiscard(ctx)
	var lastErr time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case rec, ok := <-records:
			if !ok {
				return
			}
			if err := p.Handle(&rec); err != nil && p.clock.Since(lastErr) > time.Minute {
				// One line a minute at most: a stream of bad records must not flood the log.
				lastErr = p.clock.Now()
				log.Error(err, "observation record not counted (see palisade_observe_samples_total)")
			}
		}
	}
}

// Handle decodes one record and counts it unless it repeats a connection already counted in the
// same direction. It returns why a record could not be counted (a repeat is not an error).
func (p *Pipeline) Handle(rec *nflog.Record) error {
	s, err := Decode(rec)
	if err != nil {
		p.sample("unknown", OutcomeBadPrefix)
		return err
	}
	kind := s.Kind.String()
	now := p.clock.Now()
	if p.dedupe.repeat(keyOf(&s), now) {
		p.sample(kind, OutcomeRepeat)
		return nil
	}
	if n := p.dedupe.evicted; n != p.evicted {
		p.metrics.DedupeEvictions.Add(float64(n - p.evicted))
		p.evicted = n
	}
	if err := p.observer.ObserveSide(s.Flow, s.Direction, p.chooser(), now); err != nil {
		p.sample(kind, OutcomeUnevaluable)
		return err
	}
	p.sample(kind, OutcomeCounted)
	return nil
}
