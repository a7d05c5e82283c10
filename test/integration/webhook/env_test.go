package webhookintegration

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
	cradmission "sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/assets"
	"github.com/palisade-dev/palisade/webhooks/policy"
	"github.com/palisade-dev/palisade/webhooks/serving"
)

// repoRoot is the repository root, relative to this package.
var repoRoot = filepath.Join("..", "..", "..")

// environment is a running API server with Palisade's CRDs and webhook configurations, and a manager
// serving the webhooks from this process.
type environment struct {
	env       *envtest.Environment
	cfg       *rest.Config
	client    client.Client
	scheme    *runtime.Scheme
	assetsDir string
	server    *timedServer
	// cache is the manager's informer cache, which the webhooks read.
	cache cache.Cache
	// admissionPolicies are config/admissionpolicy's objects.
	admissionPolicies []client.Object
	// admission is what of Palisade's admission is registered now (see use).
	admission admission
	cancel    context.CancelFunc
	done      chan error
}

func newScheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// startEnvironment starts etcd, kube-apiserver and the webhook manager. It fails, never skips, when
// the binaries are missing.
func startEnvironment() (*environment, error) {
	dir, err := assets.Dir()
	if err != nil {
		return nil, err
	}
	scheme, err := newScheme()
	if err != nil {
		return nil, err
	}
	e := &environment{assetsDir: dir, scheme: scheme}
	e.env = &envtest.Environment{
		Scheme:                scheme,
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     []string{filepath.Join(repoRoot, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		WebhookInstallOptions: envtest.WebhookInstallOptions{
			Paths: []string{filepath.Join(repoRoot, "config", "webhook", "manifests.yaml")},
		},
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	if e.cfg, err = e.env.Start(); err != nil {
		return nil, fmt.Errorf("starting the API server: %w", err)
	}
	// The benchmark's 100 clients must not be throttled by client-side rate limiting.
	e.cfg.QPS, e.cfg.Burst = -1, 0
	if e.client, err = client.New(e.cfg, client.Options{Scheme: scheme}); err != nil {
		return nil, err
	}
	if e.admissionPolicies, err = readAdmissionPolicies(filepath.Join(repoRoot, "config", "admissionpolicy", "policy-defaults.yaml")); err != nil {
		return nil, err
	}
	// env.Start registered both webhook configurations of config/webhook.
	e.admission = webhookDefaulting

	wio := &e.env.WebhookInstallOptions
	// Serve as cmd/palisade-controller does by default: HTTP/1.1 only (HTTP/2 is off there because
	// of the rapid-reset attacks, CVE-2023-44487), so the benchmark measures the deployed setup.
	http1 := func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }
	e.server = &timedServer{}
	// VerifyConnection runs once per handshake, full or resumed, so it counts the connections the
	// API server opens to the webhook server.
	countHandshakes := func(c *tls.Config) {
		c.VerifyConnection = func(tls.ConnectionState) error { e.server.handshakes.Add(1); return nil }
	}
	// The server cmd/palisade-controller runs, with its read deadlines and body cap.
	e.server.Server = serving.NewServer(serving.Options{
		Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: wio.LocalServingCertDir,
		TLSOpts: []func(*tls.Config){http1, countHandshakes},
	})
	// As cmd/palisade-controller does, the manager asks for uncompressed responses.
	mgrCfg := rest.CopyConfig(e.cfg)
	mgrCfg.DisableCompression = true
	mgr, err := ctrl.NewManager(mgrCfg, ctrl.Options{
		Scheme:        scheme,
		WebhookServer: e.server,
		Metrics:       metricsserver.Options{BindAddress: "0"},
		Cache:         policy.CacheOptions(),
	})
	if err != nil {
		return nil, fmt.Errorf("creating the manager: %w", err)
	}
	e.cache = mgr.GetCache()
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if err := policy.StartInformers(ctx, mgr.GetCache()); err != nil {
		return nil, err
	}
	view := &policy.ClusterView{Reader: mgr.GetCache()}
	if err := policy.Setup(mgr, view); err != nil {
		return nil, err
	}
	e.server.Register(emptyWebhookPath, http.HandlerFunc(admitAll))
	e.server.Register(genericValidatingPath, cradmission.WithValidator[*v1alpha1.NetworkPolicy](scheme, &policy.NetworkPolicyWebhook{View: view}))
	e.done = make(chan error, 1)
	go func() { e.done <- mgr.Start(ctx) }()

	addr := net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort))
	deadline := time.Now().Add(time.Minute)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("webhook server at %s did not start: %w", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		return nil, fmt.Errorf("informer caches did not sync")
	}
	if err := e.use(asInstalled); err != nil {
		return nil, err
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

// kubeconfig writes a kubeconfig for the test API server's admin user into dir.
func (e *environment) kubeconfig(dir string) (string, error) {
	path := filepath.Join(dir, "kubeconfig")
	return path, os.WriteFile(path, e.env.KubeConfig, 0o600)
}

// readAdmissionPolicies reads the MutatingAdmissionPolicy objects of a manifest.
func readAdmissionPolicies(path string) ([]client.Object, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading admission policies: %w", err)
	}
	var out []client.Object
	for i, doc := range strings.Split(string(raw), "\n---\n") {
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", path, i+1, err)
		}
		var obj client.Object
		switch meta.Kind {
		case "MutatingAdmissionPolicy":
			obj = &admissionregistrationv1.MutatingAdmissionPolicy{}
		case "MutatingAdmissionPolicyBinding":
			obj = &admissionregistrationv1.MutatingAdmissionPolicyBinding{}
		default:
			return nil, fmt.Errorf("%s, document %d: unexpected kind %q", path, i+1, meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
			return nil, fmt.Errorf("%s, document %d: %w", path, i+1, err)
		}
		out = append(out, obj)
	}
	return out, nil
}

// timedServer is the manager's webhook server with every handler timed from the first byte of the
// request body read to the last byte of the response written: the handler's own latency, without
// the TLS handshake and the API server's side of the call.
type timedServer struct {
	webhook.Server
	recording atomic.Bool
	mu        sync.Mutex
	samples   map[string][]time.Duration
	// calls counts every call per path, recording or not.
	calls map[string]*atomic.Int64
	// handshakes counts the TLS handshakes the server has completed.
	handshakes atomic.Int64
}

func (s *timedServer) Register(path string, h http.Handler) {
	s.mu.Lock()
	if s.calls == nil {
		s.calls = map[string]*atomic.Int64{}
	}
	n := &atomic.Int64{}
	s.calls[path] = n
	s.mu.Unlock()
	s.Server.Register(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		start := time.Now()
		h.ServeHTTP(w, r)
		if s.recording.Load() {
			d := time.Since(start)
			s.mu.Lock()
			if s.samples == nil {
				s.samples = map[string][]time.Duration{}
			}
			s.samples[path] = append(s.samples[path], d)
			s.mu.Unlock()
		}
	}))
}

// callsTo is how many calls the handler at path has served.
func (s *timedServer) callsTo(path string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n, ok := s.calls[path]; ok {
		return n.Load()
	}
	return 0
}

// take returns and clears the samples recorded per path.
func (s *timedServer) take() map[string][]time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.samples
	s.samples = nil
	for _, d := range out {
		slices.Sort(d)
	}
	return out
}
