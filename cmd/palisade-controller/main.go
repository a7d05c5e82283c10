// Command palisade-controller is Palisade's control-plane manager: the admission webhooks for
// Palisade policies and Kubernetes NetworkPolicies, their serving certificate, health and readiness
// probes, metrics and leader election. It is wiring only: flags, the manager, and the packages that
// do the work (webhooks/policy, webhooks/certs).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/webhooks/certs"
	"github.com/palisade-dev/palisade/webhooks/policy"
	"github.com/palisade-dev/palisade/webhooks/serving"
)

// leaseName is the Lease the replicas elect a leader with, in the manager's namespace.
const leaseName = "palisade-controller.policy.palisade.dev"

// drainTimeout bounds the manager's graceful shutdown: the webhook server drains in-flight
// requests (serving.DefaultShutdownTimeout), the elected controllers stop, then the lease is
// released. The Deployment's terminationGracePeriodSeconds must exceed it plus the preStop delay
// (manifests_test.go checks it).
const drainTimeout = 20 * time.Second

// Leader election holds a Lease; its events are recorded in the manager's namespace. Secure metrics
// ask the API server who is scraping and whether they may (TokenReview, SubjectAccessReview).
//
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=palisade-system,resources=leases,verbs=get;create;update
// +kubebuilder:rbac:groups="",namespace=palisade-system,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,namespace=palisade-system,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

type options struct {
	metricsAddr, probeAddr string
	secureMetrics          bool
	leaderElect            bool
	namespace              string
	webhookPort            int
	certDir                string
	certSource             string
	secretName             string
	serviceName            string
	mutatingName           string
	validatingName         string
	clusterChecks          bool
	enableHTTP2            bool
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443", "address the metrics endpoint binds to; \"0\" disables it")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", true, "serve metrics over HTTPS, authenticated and authorized through the API server")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "address the health and readiness probes bind to")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "elect a leader among replicas for the controllers that need one; webhooks are served by every replica")
	flag.StringVar(&o.namespace, "namespace", envOr("POD_NAMESPACE", "palisade-system"), "namespace of the manager: its lease, certificate secret and webhook service")
	flag.IntVar(&o.webhookPort, "webhook-port", 9443, "port the webhook server listens on")
	flag.StringVar(&o.certDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding the webhook serving certificate (tls.crt, tls.key)")
	flag.StringVar(&o.certSource, "cert-source", string(certs.SelfManaged), "who provides the webhook certificate: \"self\" (rotated by the manager) or \"cert-manager\"")
	flag.StringVar(&o.secretName, "webhook-secret-name", "palisade-webhook-server-cert", "secret holding the self-managed webhook certificate")
	flag.StringVar(&o.serviceName, "webhook-service-name", "palisade-webhook-service", "service in front of the webhook server")
	flag.StringVar(&o.mutatingName, "mutating-webhook-configuration", "palisade-mutating-webhook-configuration", "MutatingWebhookConfiguration that receives the CA bundle; empty when none is registered (the API server fills the defaults, config/components/apiserver-defaulting)")
	flag.StringVar(&o.validatingName, "validating-webhook-configuration", "palisade-validating-webhook-configuration", "ValidatingWebhookConfiguration that receives the CA bundle")
	flag.BoolVar(&o.clusterChecks, "cluster-checks", true, "warn about named ports, order ties, empty selections and DNS from the informer cache")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", false, "serve webhooks and metrics over HTTP/2 (off: HTTP/2 rapid-reset, CVE-2023-44487)")
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))

	if err := run(o); err != nil {
		ctrl.Log.Error(err, "palisade-controller failed")
		os.Exit(1)
	}
}

func run(o options) error {
	ctx := ctrl.SetupSignalHandler()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering Kubernetes types: %w", err)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return fmt.Errorf("registering Palisade types: %w", err)
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return fmt.Errorf("loading the kubeconfig: %w", err)
	}
	// The manager talks to the API server inside the cluster, where bandwidth is cheap and CPU is
	// not: with compression the API server gzips every watch event it sends the informers and the
	// manager unzips it. kube-controller-manager and kube-scheduler turn it off for the same reason.
	cfg.DisableCompression = true

	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.secureMetrics, TLSOpts: tlsOpts}
	if o.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	drain := drainTimeout
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsOpts,
		HealthProbeBindAddress: o.probeAddr,
		// The manager's own leader election would stop the whole process, webhooks included, when
		// the lease is lost; the elected group below holds the lease instead.
		LeaderElection:          false,
		GracefulShutdownTimeout: &drain,
		Cache:                   policy.CacheOptions(),
		// Every read of a webhook request is bounded (webhooks/serving); controller-runtime's
		// server waits for a request body as long as the client likes.
		WebhookServer: serving.NewServer(serving.Options{
			Port: o.webhookPort, CertDir: o.certDir, TLSOpts: tlsOpts, ShutdownTimeout: serving.DefaultShutdownTimeout,
			Log: ctrl.Log.WithName("webhook-server"),
		}),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	controllerMgr := mgr
	if o.leaderElect {
		lock, err := resourcelock.NewFromKubeconfig(resourcelock.LeasesResourceLock, o.namespace, leaseName,
			resourcelock.ResourceLockConfig{Identity: identity()}, cfg, 10*time.Second)
		if err != nil {
			return fmt.Errorf("configuring leader election: %w", err)
		}
		elected := &electedGroup{lock: lock, log: ctrl.Log.WithName("leader-election")}
		if err := mgr.Add(elected); err != nil {
			return fmt.Errorf("adding leader election: %w", err)
		}
		// The rollout controllers are added to the elected group, not to the manager: they run on
		// the replica holding the lease only, while every replica serves admission.
		controllerMgr = electedManager{Manager: mgr, group: elected}
		if err := mgr.AddHealthzCheck("leader-election", elected.Healthz); err != nil {
			return fmt.Errorf("adding the leader-election health check: %w", err)
		}
	}
	if err := setupControllers(controllerMgr, o); err != nil {
		return err
	}

	certsReady, err := certs.Setup(mgr, certs.Options{
		Source:                         certs.Source(o.certSource),
		Namespace:                      o.namespace,
		SecretName:                     o.secretName,
		ServiceName:                    o.serviceName,
		CertDir:                        o.certDir,
		MutatingWebhookConfiguration:   o.mutatingName,
		ValidatingWebhookConfiguration: o.validatingName,
	})
	if err != nil {
		return err
	}

	var view *policy.ClusterView
	if o.clusterChecks {
		view = &policy.ClusterView{Reader: mgr.GetCache()}
		if err := policy.StartInformers(ctx, mgr.GetCache()); err != nil {
			return err
		}
	}

	// The webhook server reads its certificate when it starts, so it is created (by registering
	// the webhooks) only once the certificate is in place; until then the pod is not ready and
	// receives no admission traffic. A runnable, not a goroutine: an error stops the manager
	// cleanly, and shutdown before the certificate arrives ends the wait.
	registered := make(chan struct{})
	if err := mgr.Add(unelected(func(ctx context.Context) error {
		select {
		case <-certsReady:
		case <-ctx.Done():
			return nil
		}
		if err := policy.Setup(mgr, view); err != nil {
			return fmt.Errorf("registering the webhooks: %w", err)
		}
		close(registered)
		return nil
	})); err != nil {
		return fmt.Errorf("adding the webhook registration: %w", err)
	}

	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("adding the health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook", func(req *http.Request) error {
		if err := certs.ReadyCheck(registered, "webhook certificate not ready")(req); err != nil {
			return err
		}
		return mgr.GetWebhookServer().StartedChecker()(req)
	}); err != nil {
		return fmt.Errorf("adding the readiness check: %w", err)
	}
	if view != nil {
		if err := mgr.AddReadyzCheck("informers", func(req *http.Request) error {
			if !mgr.GetCache().WaitForCacheSync(req.Context()) {
				return errors.New("informer caches not synced")
			}
			return nil
		}); err != nil {
			return fmt.Errorf("adding the cache readiness check: %w", err)
		}
	}

	ctrl.Log.Info("starting manager", "namespace", o.namespace, "certSource", o.certSource, "leaderElect", o.leaderElect)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

// unelected is a runnable that runs on every replica, outside leader election.
type unelected func(ctx context.Context) error

func (f unelected) Start(ctx context.Context) error { return f(ctx) }
func (unelected) NeedLeaderElection() bool          { return false }

// identity names this replica in the Lease: the pod's name (the hostname) and a random suffix, as
// controller-runtime does, so that a restarted pod is a new holder.
func identity() string {
	host, err := os.Hostname()
	if err != nil {
		host = "palisade-controller"
	}
	return host + "_" + string(uuid.NewUUID())
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
