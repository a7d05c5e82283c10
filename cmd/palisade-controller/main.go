// Command palisade-controller is Palisade's control-plane manager: the admission webhooks for
// Palisade policies and Kubernetes NetworkPolicies, their serving certificate, health and readiness
// probes, metrics and leader election. It is wiring only: flags, the manager, and the packages that
// do the work (webhooks/policy, webhooks/certs).
package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/webhooks/certs"
	"github.com/palisade-dev/palisade/webhooks/policy"
)

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

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "palisade-controller.policy.palisade.dev",
		LeaderElectionNamespace: o.namespace,
		// The webhooks are the only readers of the cache today; see policy.CacheByObject for what
		// is kept of a pod.
		Cache: cache.Options{ByObject: policy.CacheByObject()},
		WebhookServer: webhook.NewServer(webhook.Options{
			Port: o.webhookPort, CertDir: o.certDir, TLSOpts: tlsOpts,
		}),
	})
	if err != nil {
		return fmt.Errorf("creating the manager: %w", err)
	}

	if err := setupControllers(mgr, o); err != nil {
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
	// receives no admission traffic.
	registered := make(chan struct{})
	setupErr := make(chan error, 1)
	go func() {
		<-certsReady
		if err := policy.Setup(mgr, view); err != nil {
			setupErr <- err
			return
		}
		close(registered)
	}()

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

	go func() {
		if err := <-setupErr; err != nil {
			ctrl.Log.Error(err, "registering webhooks failed")
			os.Exit(1)
		}
	}()
	ctrl.Log.Info("starting manager", "namespace", o.namespace, "certSource", o.certSource)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the manager: %w", err)
	}
	return nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
