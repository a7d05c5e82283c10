package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"

	"github.com/palisade-dev/palisade/enforcer/ipsets"
	"github.com/palisade-dev/palisade/enforcer/metrics"
	"github.com/palisade-dev/palisade/enforcer/runner"
	"github.com/palisade-dev/palisade/enforcer/syncer"
	"github.com/palisade-dev/palisade/pkg/engine"
)

type runFlags struct {
	dataplaneFlags
	phaseFlags
	kubeconfig, nodeName     string
	healthAddr, metricsAddr  string
	minInterval, maxInterval time.Duration
	informerResync           time.Duration
	backoffBase, backoffMax  time.Duration
	observe                  observeFlags
}

func newRunCommand(log logger) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Enforce the cluster's policies on this node until SIGTERM (the rules stay afterwards)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.nodeName == "" {
				return errors.New("--node-name (or NODE_NAME) is required")
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return run(logr.NewContext(ctx, log.WithValues("node", f.nodeName)), &f, desiredState)
		},
	}
	f.dataplaneFlags.bind(cmd)
	f.phaseFlags.bind(cmd)
	f.observe.bind(cmd)
	cmd.Flags().StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file; empty for the in-cluster configuration")
	cmd.Flags().StringVar(&f.nodeName, "node-name", os.Getenv("NODE_NAME"), "the node this enforcer programs (pods with this spec.nodeName)")
	cmd.Flags().StringVar(&f.healthAddr, "health-addr", ":9808", "address serving /healthz and /readyz")
	cmd.Flags().StringVar(&f.metricsAddr, "metrics-addr", ":9809", "address serving Prometheus /metrics; \"0\" disables it")
	cmd.Flags().DurationVar(&f.minInterval, "min-sync-interval", runner.DefaultMinInterval, "shortest time between two syncs (events coalesce)")
	cmd.Flags().DurationVar(&f.maxInterval, "max-sync-interval", runner.DefaultMaxInterval, "longest time between two syncs: the periodic resync that repairs drift")
	cmd.Flags().DurationVar(&f.backoffBase, "sync-backoff", runner.DefaultBackoffBase, "first retry delay after a failed sync, doubled per failure")
	cmd.Flags().DurationVar(&f.backoffMax, "sync-backoff-max", runner.DefaultBackoffMax, "longest retry delay")
	cmd.Flags().DurationVar(&f.informerResync, "informer-resync", 0, "informer resync period (0: none; the runner's resync reads the kernel)")
	return cmd
}

func run(ctx context.Context, f *runFlags, newDesired desiredStateFunc) error {
	log := logr.FromContextOrDiscard(ctx)
	cfg, err := clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("creating the dynamic client: %w", err)
	}
	fams, exec, err := f.families(ctx, log)
	if err != nil {
		return err
	}

	opts, err := f.renderOptions()
	if err != nil {
		return err
	}
	eng := engine.New()
	src := f.newSource(eng, log)
	var offered atomic.Int64 // counter rules next to the rate-limited samples (samples.go)
	s := &syncer.Syncer{
		DesiredState: countingOffered(newDesired(eng, nodeView{node: f.nodeName, chooser: src.Chooser, opts: opts}), &offered),
		Families:     fams,
		Sets:         ipsets.New(exec),
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := metrics.New(reg)
	registerPhaseMetrics(reg, src)
	clk := clock.RealClock{}
	r := runner.New(func(ctx context.Context, resync bool) error {
		start := clk.Now()
		st, err := s.Sync(ctx, resync)
		if err != nil {
			step := "unknown"
			var se *syncer.StepError
			if errors.As(err, &se) {
				step = string(se.Step)
			}
			m.Failed(clk.Since(start), step)
			return err
		}
		m.Programmed(clk.Since(start), st.Rules, st.Chains, st.Sets, st.Members, st.ChainsWritten)
		return nil
	}, clk, runner.Config{MinInterval: f.minInterval, MaxInterval: f.maxInterval, BackoffBase: f.backoffBase, BackoffMax: f.backoffMax})

	servers := serve(ctx, log, f, reg, s.Synced)
	defer func() {
		for _, srv := range servers {
			_ = srv.Close()
		}
	}()

	// Every change the source sees asks for a sync and, coalesced, hands the policies' evidence
	// windows to the observer (a new status.evidence.windowStart counts from its first sample).
	windows := newWindowSignal()
	src.Dirty = func() { r.Request(); windows.Notify() }
	if err := src.Start(ctx, kube, dyn, f.informerResync); err != nil {
		return err
	}
	// One flag, one value: the observer reads the group the renderer samples into.
	f.observe.group = f.nflogGroup
	if err := startObservation(ctx, &f.observe, observeDeps{node: f.nodeName, netns: f.netns, engine: eng, dynamic: dyn, registry: reg,
		chooser: src.Chooser, generations: src, programs: programsOf(src), windowsChanged: windows,
		unsampled: (&unsampledCounter{save: saveFilterCounters(fams), counters: &offered}).Total}); err != nil {
		log.Error(err, "enforcing without observation")
	}
	log.Info("informers synced; starting the sync loop")
	r.Run(ctx)
	log.Info("stopping; Palisade's rules stay in place (fail static)")
	return nil
}

func serve(ctx context.Context, log logr.Logger, f *runFlags, reg *prometheus.Registry, ready func() bool) []*http.Server {
	health := http.NewServeMux()
	health.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	health.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "no complete sync yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	servers := []*http.Server{{Addr: f.healthAddr, Handler: health, ReadHeaderTimeout: 5 * time.Second}}
	if f.metricsAddr != "0" {
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		servers = append(servers, &http.Server{Addr: f.metricsAddr, Handler: mux, ReadHeaderTimeout: 5 * time.Second})
	}
	for _, srv := range servers {
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(err, "HTTP server failed", "addr", srv.Addr)
			}
		}()
	}
	go func() {
		<-ctx.Done()
		for _, srv := range servers {
			_ = srv.Close()
		}
	}()
	return servers
}
