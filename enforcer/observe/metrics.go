package observe

import (
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/prometheus/client_golang/prometheus"
)

// Verdict is the verdict label of palisade_flows_total.
type Verdict string

// Verdicts.
const (
	VerdictWouldDeny Verdict = "would_deny"
	VerdictDenied    Verdict = "denied"
	VerdictAllowed   Verdict = "allowed"
)

// OtherPolicy is the policy label of counts beyond Limits.MaxPolicies.
const OtherPolicy = "_other"

// Metrics are the observer's counters. Labels are bounded by the number of policies: policy
// (kind/namespace/name, or OtherPolicy beyond the cap), generation (the slot, "enforced" or
// "candidate": generation numbers would grow without bound as policies are edited) and verdict.
// Never an address or a port.
type Metrics struct {
	Flows  *prometheus.CounterVec
	Errors prometheus.Counter
}

// NewMetrics creates the counters and registers them on reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Flows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_flows_total",
			Help: "Observed new connections by policy, generation slot (enforced|candidate) and verdict (would_deny|denied|allowed).",
		}, []string{"policy", "generation", "verdict"}),
		Errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_observe_errors_total",
			Help: "Observed flows the engine could not evaluate.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.Flows, m.Errors)
	}
	return m
}

func (m *Metrics) flow(key *engine.PolicyKey, slot engine.Slot, v Verdict) {
	if m == nil {
		return
	}
	policy := OtherPolicy
	if key != nil {
		policy = key.String()
	}
	m.Flows.WithLabelValues(policy, slot.String(), string(v)).Inc()
}

func (m *Metrics) error() {
	if m != nil {
		m.Errors.Inc()
	}
}

func (m *Metrics) forget(key engine.PolicyKey) {
	if m != nil {
		m.Flows.DeletePartialMatch(prometheus.Labels{"policy": key.String()})
	}
}
