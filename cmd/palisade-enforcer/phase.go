package main

import (
	"context"
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/source"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/render"
)

// phaseFlags say how the enforcer follows rollouts (docs/rollout.md) and samples traffic for
// observation (docs/dataplane.md, "Observation").
type phaseFlags struct {
	rolloutPhases     bool
	revisionNamespace string
	nflogGroup        uint16
	observeRate       uint32
	observeBurst      uint32
	dropLogRate       uint32
	dropLogBurst      uint32
}

func (f *phaseFlags) bind(cmd *cobra.Command) {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "palisade-system"
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.rolloutPhases, "rollout-phases", true, "follow rollouts: enforce each Palisade policy's enforced generation (status and revisions) and shadow its candidate; false enforces every spec as written (no rollout operator)")
	fl.StringVar(&f.revisionNamespace, "revision-namespace", ns, "namespace of the rollout operator, where GlobalNetworkPolicies' revisions are (default $POD_NAMESPACE or palisade-system); \"\" accepts any")
	fl.Uint16Var(&f.nflogGroup, "nflog-group", render.DefaultObserveGroup, "NFLOG group of observation samples (shadowed connections, drops); 0 disables them; must differ from Log rules' group 1")
	fl.Uint32Var(&f.observeRate, "observe-rate", render.DefaultObserveRate, "new connections of shadowed pods sampled per second, per rule (1-10000)")
	fl.Uint32Var(&f.observeBurst, "observe-burst", render.DefaultObserveBurst, "burst of shadow samples above the rate")
	fl.Uint32Var(&f.dropLogRate, "drop-log-rate", render.DefaultDropLogRate, "dropped packets sampled per second, per rule (1-10000)")
	fl.Uint32Var(&f.dropLogBurst, "drop-log-burst", render.DefaultDropLogBurst, "burst of drop samples above the rate")
}

// renderOptions are the renderer's options with the observation flags, checked.
func (f *phaseFlags) renderOptions() (render.Options, error) {
	o := render.DefaultOptions()
	o.Observe = render.Observation{
		Group:  f.nflogGroup,
		Shadow: render.Limit{PerSecond: f.observeRate, Burst: f.observeBurst},
		Drop:   render.Limit{PerSecond: f.dropLogRate, Burst: f.dropLogBurst},
	}
	if err := o.Validate(); err != nil {
		return render.Options{}, fmt.Errorf("observation flags: %w", err)
	}
	return o, nil
}

// newSource is the informers' source for this node's engine. Its Dirty is set by run once the
// runner exists.
func (f *phaseFlags) newSource(e *engine.Engine, log logr.Logger) *source.Source {
	return &source.Source{Engine: e, Log: log.WithName("source"), RevisionNamespace: f.revisionNamespace, EnforceAsWritten: !f.rolloutPhases}
}

// nodeView is what the desired state is computed from besides the engine: the node, the source's
// current chooser (the phases of the rollouts) and the renderer's options.
type nodeView struct {
	node    string
	chooser func() engine.Chooser
	opts    render.Options
}

// desiredStateFunc builds the function the syncer asks for the node's desired state.
type desiredStateFunc func(e *engine.Engine, v nodeView) func(context.Context) (desired.Ruleset, error)

// desiredState renders the engine's model of this node (pkg/render) with the generations the
// source's chooser picks per pod (enforced generations; a Staged candidate on its canary) and the
// shadowed candidates sampled. The model cache and the renderer keep what the last sync rendered,
// so that a sync after one change converts and renders only what the change touched (the text is
// the same as a fresh render's). A render error fails the sync at the "desired" step: nothing is
// changed in the kernel, so the rules of the last good sync stay (fail static), and the runner
// retries.
func desiredState(e *engine.Engine, v nodeView) func(context.Context) (desired.Ruleset, error) {
	cache := engine.NewModelCache()
	r, rerr := render.NewRenderer(v.opts)
	return func(context.Context) (desired.Ruleset, error) {
		if rerr != nil {
			return desired.Ruleset{}, fmt.Errorf("rendering node %s: %w", v.node, rerr)
		}
		m, err := e.NodeModelCached(v.node, v.chooser(), cache)
		if err != nil {
			return desired.Ruleset{}, fmt.Errorf("node model of %s: %w", v.node, err)
		}
		v4, v6, err := r.Render(m)
		if err != nil {
			return desired.Ruleset{}, fmt.Errorf("rendering node %s: %w", v.node, err)
		}
		return desired.FromRender(v4, v6), nil
	}
}

// registerPhaseMetrics exports the source's health for rollouts.
func registerPhaseMetrics(reg prometheus.Registerer, src *source.Source) {
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "palisade_enforcer_revisions_missing",
		Help: "Palisade policies whose status names an enforced generation with no readable revision; the last known generation stays enforced.",
	}, func() float64 { return float64(src.MissingRevisions()) }))
}
