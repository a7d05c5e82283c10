package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the enforcer's collectors.
type Metrics struct {
	SyncDuration *prometheus.HistogramVec // result = success|error
	SyncErrors   *prometheus.CounterVec   // step = desired|ipsets|iptables|hook|prune
	Rules        prometheus.Gauge
	Chains       prometheus.Gauge
	Sets         prometheus.Gauge
	SetMembers   prometheus.Gauge
	ChainWrites  prometheus.Counter
}

// New creates the collectors and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		SyncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "palisade_enforcer_sync_duration_seconds", Help: "Time taken by one dataplane sync.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"result"}),
		SyncErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_enforcer_sync_errors_total", Help: "Failed syncs by the step that failed.",
		}, []string{"step"}),
		Rules:       prometheus.NewGauge(prometheus.GaugeOpts{Name: "palisade_enforcer_rules_programmed", Help: "iptables rules in Palisade's chains after the last successful sync."}),
		Chains:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "palisade_enforcer_chains_programmed", Help: "Palisade iptables chains after the last successful sync."}),
		Sets:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "palisade_enforcer_sets_programmed", Help: "Palisade ipsets after the last successful sync."}),
		SetMembers:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "palisade_enforcer_set_members_programmed", Help: "Members of Palisade's ipsets after the last successful sync."}),
		ChainWrites: prometheus.NewCounter(prometheus.CounterOpts{Name: "palisade_enforcer_chain_writes_total", Help: "Chains rewritten because their content hash changed."}),
	}
	reg.MustRegister(m.SyncDuration, m.SyncErrors, m.Rules, m.Chains, m.Sets, m.SetMembers, m.ChainWrites)
	return m
}

// Programmed records the state after a successful sync.
func (m *Metrics) Programmed(d time.Duration, rules, chains, sets, members, chainWrites int) {
	m.SyncDuration.WithLabelValues("success").Observe(d.Seconds())
	m.Rules.Set(float64(rules))
	m.Chains.Set(float64(chains))
	m.Sets.Set(float64(sets))
	m.SetMembers.Set(float64(members))
	m.ChainWrites.Add(float64(chainWrites))
}

// Failed records a failed sync; step must be one of the syncer's steps.
func (m *Metrics) Failed(d time.Duration, step string) {
	m.SyncDuration.WithLabelValues("error").Observe(d.Seconds())
	m.SyncErrors.WithLabelValues(step).Inc()
}
