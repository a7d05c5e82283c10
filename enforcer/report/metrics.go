package report

import "github.com/prometheus/client_golang/prometheus"

// Sample outcomes, the outcome label of palisade_observe_samples_total.
const (
	OutcomeCounted     = "counted"
	OutcomeRepeat      = "repeat"
	OutcomeBadPrefix   = "bad_prefix"
	OutcomeUnevaluable = "unevaluable"
)

// Metrics are the pipeline's and the writer's counters. Labels are fixed sets: never an address,
// a port, a pod or a policy.
type Metrics struct {
	// Samples counts the records the pipeline handled, by kind (shadow, drop, unknown) and outcome.
	Samples *prometheus.CounterVec
	// DedupeEvictions counts connections forgotten because the dedupe cache was full.
	DedupeEvictions prometheus.Counter
	// Writes counts NodeReport writes by result (ok, error).
	Writes *prometheus.CounterVec
	// Omitted is what the last report cut: policies and flows.
	Omitted *prometheus.GaugeVec
	// LastWrite is the time of the last successful write (the chart's PalisadeNodeReportStale
	// alert reads it).
	LastWrite prometheus.Gauge
}

// NewMetrics creates the counters and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Samples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_observe_samples_total",
			Help: "Observation NFLOG records handled, by kind (shadow, drop, unknown) and outcome (counted, repeat, bad_prefix, unevaluable).",
		}, []string{"kind", "outcome"}),
		DedupeEvictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_observe_dedupe_evictions_total",
			Help: "Connections forgotten by the full dedupe cache (a later repeat of one counts again).",
		}),
		Writes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_nodereport_writes_total",
			Help: "NodeReport server-side applies, by result (ok, error).",
		}, []string{"result"}),
		Omitted: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "palisade_nodereport_omitted",
			Help: "What the last NodeReport cut to stay bounded: policies, flows.",
		}, []string{"what"}),
		LastWrite: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "palisade_nodereport_last_update_timestamp_seconds",
			Help: "When this node's NodeReport was last written (Unix seconds, by the node's clock).",
		}),
	}
	for _, k := range []string{KindShadow.String(), KindDrop.String(), "unknown"} {
		for _, o := range []string{OutcomeCounted, OutcomeRepeat, OutcomeBadPrefix, OutcomeUnevaluable} {
			if (k == "unknown") == (o == OutcomeBadPrefix) {
				m.Samples.WithLabelValues(k, o)
			}
		}
	}
	m.Writes.WithLabelValues("ok")
	m.Writes.WithLabelValues("error")
	if reg != nil {
		reg.MustRegister(m.Samples, m.DedupeEvictions, m.Writes, m.Omitted, m.LastWrite)
	}
	return m
}
