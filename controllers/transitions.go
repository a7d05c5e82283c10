package controllers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// Event reasons the operator records besides the planner's decision reasons.
const (
	// EventControl is recorded when a control annotation was acted on without a transition.
	EventControl = "ControlRequest"
	// EventRevisionMissing is recorded when a generation the status enforces has no revision and is no
	// longer the spec, so no revision can be made for it.
	EventRevisionMissing = "RevisionMissing"
)

// Metrics are the operator's Prometheus metrics. Their labels are bounded by the kinds, actions,
// phases and control verbs, never by policy names: a cluster's policy count must not become the
// metric's series count.
type Metrics struct {
	transitions *prometheus.CounterVec
	controls    *prometheus.CounterVec
	decisions   *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg (controller-runtime's
// metrics.Registry in the manager, a fresh registry in tests).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_rollout_transitions_total",
			Help: "Rollout transitions (start, promote, step back, rollback) by policy kind, action and phases.",
		}, []string{"kind", "action", "from", "to"}),
		controls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_rollout_control_requests_total",
			Help: "Control annotations (promote, pause, resume, rollback) acted on, by policy kind and verb.",
		}, []string{"kind", "control"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_rollout_decisions_total",
			Help: "Decisions written to status, by policy kind and reason.",
		}, []string{"kind", "reason"}),
	}
	for _, c := range []prometheus.Collector{m.transitions, m.controls, m.decisions} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("registering rollout metrics: %w", err)
			}
		}
	}
	return m, nil
}

// record emits the events, metrics and log line of a decision whose status was written.
func (r *PolicyReconciler[T]) record(ctx context.Context, s *scope[T]) {
	d := s.result.Decision
	kind := string(r.kind.kind)
	logger := log.FromContext(ctx)
	if r.Metrics != nil {
		r.Metrics.decisions.WithLabelValues(kind, d.Reason).Inc()
		for _, c := range d.Controls {
			r.Metrics.controls.WithLabelValues(kind, c).Inc()
		}
	}
	if d.Transition() {
		if r.Metrics != nil {
			r.Metrics.transitions.WithLabelValues(kind, string(d.Action), phaseLabel(d.From), phaseLabel(d.To)).Inc()
		}
		typ := corev1.EventTypeNormal
		if d.Action == rollout.ActionStepBack || d.Action == rollout.ActionRollback {
			typ = corev1.EventTypeWarning
		}
		r.event(s, typ, d.Reason, string(d.Action), d.Message)
		logger.Info("rollout transition", "action", d.Action, "from", d.From, "to", d.To, "reason", d.Reason,
			"generation", s.policy.GetGeneration(), "enforcedGeneration", s.planned.EnforcedGeneration)
	} else if len(d.Controls) > 0 {
		r.event(s, corev1.EventTypeNormal, EventControl, "Control", fmt.Sprintf("acted on %s; %s", strings.Join(d.Controls, ", "), d.Message))
	}
	for _, gen := range s.revisions.missing {
		r.event(s, corev1.EventTypeWarning, EventRevisionMissing, "Reconcile",
			fmt.Sprintf("generation %d is enforced but its revision is gone and it is no longer the spec; enforcers cannot program it", gen))
	}
}

func (r *PolicyReconciler[T]) event(s *scope[T], typ, reason, action, note string) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(s.policy, nil, typ, reason, action, "%s", truncateMessage(note))
}

// phaseLabel is a phase as a label value; a policy without a phase yet is "None".
func phaseLabel(p v1alpha1.RolloutPhase) string {
	if p == "" {
		return "None"
	}
	return string(p)
}
