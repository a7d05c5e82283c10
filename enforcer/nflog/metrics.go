package nflog

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the reader's health counters. Their labels are fixed (no addresses, no ports).
type Metrics struct {
	// Received counts packet messages read from the kernel.
	Received prometheus.Counter
	// Dropped counts samples lost: reason "consumer" (the channel was full), "kernel" (the
	// socket overflowed: sequence-number gaps, or one per ENOBUFS when no sequence is known).
	Dropped *prometheus.CounterVec
	// Malformed counts messages or packets that could not be parsed.
	Malformed prometheus.Counter

	// dropped is the sum of Dropped over its reasons, for the node report.
	dropped atomic.Int64
}

func (m *Metrics) drop(reason string, n int64) {
	m.Dropped.WithLabelValues(reason).Add(float64(n))
	m.dropped.Add(n)
}

// DroppedTotal returns the samples lost for any reason since the metrics were created: the node
// report's droppedSamples.
func (m *Metrics) DroppedTotal() int64 { return m.dropped.Load() }

// NewMetrics creates the counters and registers them on reg (nil: not registered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_nflog_received_total",
			Help: "NFLOG packet messages read from the kernel.",
		}),
		Dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_nflog_dropped_total",
			Help: "NFLOG samples lost, by reason: consumer (observer too slow) or kernel (socket overflow).",
		}, []string{"reason"}),
		Malformed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "palisade_nflog_malformed_total",
			Help: "NFLOG messages or packets that could not be parsed.",
		}),
	}
	// Create both label values so a dashboard sees zeros, not absence.
	m.Dropped.WithLabelValues(DropConsumer)
	m.Dropped.WithLabelValues(DropKernel)
	if reg != nil {
		reg.MustRegister(m.Received, m.Dropped, m.Malformed)
	}
	return m
}

// Drop reasons.
const (
	DropConsumer = "consumer"
	DropKernel   = "kernel"
)
