package main

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/clock"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/netns"
	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/enforcer/report"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// observeFlags are the observation flags of `run`. The group is not a flag of its own: run sets it
// from --nflog-group (phase.go), the group the renderer samples into.
type observeFlags struct {
	enabled        bool
	group          uint16
	reportInterval time.Duration
	buffer         int
}

func (f *observeFlags) bind(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.enabled, "observe", true, "observe new connections of policies under rollout and write this node's NodeReport (false: enforce only; the operator then holds every rollout for want of evidence)")
	cmd.Flags().DurationVar(&f.reportInterval, "report-interval", report.DefaultInterval, "how often the NodeReport is written (when changed); must equal the controller's --report-interval")
	cmd.Flags().IntVar(&f.buffer, "nflog-buffer", 4096, "observation samples queued between the NFLOG reader and the evaluation; beyond it samples are dropped and counted, the kernel never waits")
}

// observeDeps are what observation needs from the daemon. Chooser, Generations and Programs are
// the source's hooks (enforcer/source): the dataplane's current chooser, the generation in each
// slot of each policy, and what is programmed per policy with its status.evidence.windowStart.
type observeDeps struct {
	node        string
	netns       string
	engine      *engine.Engine
	dynamic     dynamic.Interface
	registry    prometheus.Registerer
	clock       clock.WithTicker
	chooser     func() engine.Chooser
	generations observe.Generations
	programs    func() []report.Program
	// windowsChanged, when set, signals that statuses changed (the source's Dirty): the writer hands
	// the new evidence windows to the observer at once rather than at its next tick.
	windowsChanged <-chan struct{}
	// unsampled, when set, returns the new connections the rate limit of the sample rules left
	// unsampled since the start (samples.go); the NodeReport's droppedSamples includes them.
	unsampled func(context.Context) int64
}

// startObservation opens the observation NFLOG group and starts the pipeline (reader -> decode ->
// dedupe -> shadow evaluation) and the NodeReport writer, all stopping with ctx. It returns at
// once. An error (NFLOG unavailable) leaves enforcement running without observation and without
// NodeReports: missing evidence holds rollouts, it never promotes them.
func startObservation(ctx context.Context, f *observeFlags, d observeDeps) error {
	log := logr.FromContextOrDiscard(ctx).WithName("observe")
	if !f.enabled {
		log.Info("observation disabled (--observe=false): no NodeReport is written")
		return nil
	}
	if f.group == 0 {
		log.Info("observation disabled (--nflog-group=0 renders no observation rule): no NodeReport is written")
		return nil
	}
	if d.clock == nil {
		d.clock = clock.RealClock{}
	}
	nm := nflog.NewMetrics(d.registry)
	var reader *nflog.Reader
	if err := netns.Do(d.netns, func() error {
		var err error
		reader, err = nflog.Open(nflog.Config{Group: f.group, Buffer: f.buffer, Metrics: nm})
		return err
	}); err != nil {
		return fmt.Errorf("observation: opening NFLOG group %d: %w", f.group, err)
	}
	// Every policy a node can report is counted (the observer's default, 256, would report zeros
	// for the rest); palisade_flows_total only has series for policies that saw traffic.
	limits := observe.Limits{MaxPolicies: report.DefaultMaxShards * v1alpha1.MaxReportedPolicies}
	obs := observe.New(d.engine, d.generations, limits, observe.NewMetrics(d.registry))
	rm := report.NewMetrics(d.registry)
	pipeline := report.NewPipeline(report.PipelineConfig{Observer: obs, Chooser: d.chooser, Clock: d.clock, Metrics: rm})
	writer := report.NewWriter(report.WriterConfig{Node: d.node, Client: d.dynamic, Observer: obs, Programs: d.programs,
		Dropped: dropped(ctx, nm, d.unsampled), Clock: d.clock, Interval: f.reportInterval, Metrics: rm})
	go func() {
		if err := reader.Run(ctx); err != nil {
			log.Error(err, "NFLOG reader stopped; observation counts stop growing")
		}
	}()
	go pipeline.Run(logr.NewContext(ctx, log), reader.Records())
	go writer.Run(logr.NewContext(ctx, log))
	if d.windowsChanged != nil {
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-d.windowsChanged:
					writer.SyncWindows()
				}
			}
		}()
	}
	log.Info("observing", "nflogGroup", f.group, "reportInterval", f.reportInterval)
	return nil
}

// dropped is the report's droppedSamples: the samples NFLOG lost (queue overflow, slow reader) and
// the connections the sample rules' rate limit skipped.
func dropped(ctx context.Context, nm *nflog.Metrics, unsampled func(context.Context) int64) func() int64 {
	if unsampled == nil {
		return nm.DroppedTotal
	}
	return func() int64 {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return nm.DroppedTotal() + unsampled(rctx)
	}
}
