package controllersintegration

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/controllers"
	"github.com/palisade-dev/palisade/test/assets"
)

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..", "..")

// operatorNamespace holds GlobalNetworkPolicy revisions.
const operatorNamespace = "palisade-system"

// reportInterval is the enforcers' report interval the operator is configured with.
const reportInterval = 10 * time.Second

// reportBatch is the operator's ReportBatch in the environments started next; short, so that specs
// do not wait for it. BenchmarkDenialToStatus sets its own.
var reportBatch = 10 * time.Millisecond

// t0 is the fake clock's start: whole seconds, so that times stored with second precision
// (metav1.Time) compare equal to the clock's.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// environment is a kube-apiserver with Palisade's CRDs and a manager running the rollout controllers
// (or only their reconcilers, for benchmarks) on a fake clock.
type environment struct {
	env         *envtest.Environment
	cfg         *rest.Config
	client      client.Client
	scheme      *runtime.Scheme
	clock       *clocktesting.FakeClock
	registry    *prometheus.Registry
	reconcilers *controllers.Reconcilers
	cancel      context.CancelFunc
	done        chan error
}

// startEnvironment starts etcd and kube-apiserver and a manager. With controllersOn the controllers
// watch and reconcile by themselves; without, nothing reconciles until the test calls Reconcile. It
// fails, never skips, when the binaries are missing.
func startEnvironment(controllersOn bool, workers int) (*environment, error) {
	dir, err := assets.Dir()
	if err != nil {
		return nil, err
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	e := &environment{scheme: s, clock: clocktesting.NewFakeClock(t0), registry: prometheus.NewRegistry()}
	e.env = &envtest.Environment{
		Scheme:                   s,
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	if e.cfg, err = e.env.Start(); err != nil {
		return nil, fmt.Errorf("starting the API server: %w", err)
	}
	// Benchmarks write thousands of objects: no client-side throttling.
	e.cfg.QPS, e.cfg.Burst = -1, 0
	if e.client, err = client.New(e.cfg, client.Options{Scheme: s}); err != nil {
		return nil, err
	}
	if err := e.client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil {
		return nil, fmt.Errorf("creating the operator namespace: %w", err)
	}
	mgr, err := ctrl.NewManager(rest.CopyConfig(e.cfg), ctrl.Options{
		Scheme:     s,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptrTo(true)},
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	o := controllers.Options{
		Namespace: operatorNamespace, ReportInterval: reportInterval, Clock: e.clock, Registry: e.registry,
		MaxConcurrentReconciles: workers, ReportBatch: reportBatch,
	}
	if controllersOn {
		e.reconcilers, err = controllers.Setup(mgr, o)
	} else {
		e.reconcilers, err = controllers.NewReconcilers(mgr, o)
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	go func() { e.done <- mgr.Start(ctx) }()
	syncCtx, syncCancel := context.WithTimeout(ctx, time.Minute)
	defer syncCancel()
	// Reading once through the manager's client starts its informers; wait for them.
	for {
		var nrs v1alpha1.NodeReportList
		err := mgr.GetClient().List(syncCtx, &nrs)
		if err == nil {
			break
		}
		var notStarted *cache.ErrCacheNotStarted
		if !errors.As(err, &notStarted) || syncCtx.Err() != nil {
			return nil, fmt.Errorf("waiting for the manager's cache: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !mgr.GetCache().WaitForCacheSync(syncCtx) {
		return nil, errors.New("the manager's cache did not sync")
	}
	return e, nil
}

func (e *environment) stop() error {
	if e == nil {
		return nil
	}
	var mgrErr error
	if e.cancel != nil {
		e.cancel()
		mgrErr = <-e.done
	}
	return errors.Join(mgrErr, e.env.Stop())
}

func ptrTo[T any](v T) *T { return &v }
