package serving

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/certwatcher"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/webhook"
)

// Defaults of Options. The API server gives Palisade's webhooks at most 5 seconds
// (timeoutSeconds in config/webhook), so a request that has not arrived in full after 10 is not
// from a live API server call.
const (
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 10 * time.Second
	DefaultWriteTimeout      = 15 * time.Second
	// DefaultIdleTimeout matches the API server's keep-alive (http.DefaultTransport's 90 s), so
	// the API server, not this side, closes an idle connection it means to reuse.
	DefaultIdleTimeout = 90 * time.Second
	// DefaultShutdownTimeout bounds how long shutdown waits for in-flight requests.
	DefaultShutdownTimeout = 15 * time.Second
	// MaxBodyBytes bounds a request body, as controller-runtime's admission handler does: the API
	// server caps an object at 3 MiB, and a review carries it twice at most.
	MaxBodyBytes = 7 << 20
	// maxHeaderBytes bounds a request's headers; an AdmissionReview call carries a few hundred bytes.
	maxHeaderBytes = 64 << 10
)

// Options configure the Server. Zero durations take the defaults above.
type Options struct {
	// Host and Port are where the server listens (port 0: any free port, see Addr); CertDir holds tls.crt and tls.key, reloaded
	// when they change. TLSOpts adjust the TLS configuration; one that sets GetCertificate
	// replaces CertDir.
	Host    string
	Port    int
	CertDir string
	TLSOpts []func(*tls.Config)

	// ReadHeaderTimeout bounds reading a request's headers, ReadTimeout the whole request, body
	// included (per request, not per connection), WriteTimeout writing the response, and
	// IdleTimeout how long a kept-alive connection may wait for its next request.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	// ShutdownTimeout bounds how long shutdown waits for in-flight requests.
	ShutdownTimeout time.Duration
	// MaxBodyBytes caps a request body; 0 means MaxBodyBytes.
	MaxBodyBytes int64
	// Log receives the server's messages; the zero value discards them.
	Log logr.Logger
}

func (o *Options) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = MaxBodyBytes
	}
}

// Server is a webhook.Server. Register is controller-runtime's (so its webhook metrics count every
// handler); Start serves the handlers with the bounds of Options. It runs on every replica, outside
// leader election. Safe for concurrent use.
type Server struct {
	// registry registers the handlers, instrumented, into mux; it is never started.
	registry *webhook.DefaultServer
	mux      *http.ServeMux
	opts     Options

	mu      sync.Mutex
	started bool
	addr    string
}

var _ webhook.Server = (*Server)(nil)

// NewServer returns a server with o's settings.
func NewServer(o Options) *Server {
	o.setDefaults()
	mux := http.NewServeMux()
	return &Server{
		registry: &webhook.DefaultServer{Options: webhook.Options{WebhookMux: mux, Port: o.Port}},
		mux:      mux,
		opts:     o,
	}
}

// Register serves hook at path. It panics if path is taken, as controller-runtime's server does.
func (s *Server) Register(path string, hook http.Handler) { s.registry.Register(path, hook) }

// WebhookMux returns the multiplexer the handlers are registered in.
func (s *Server) WebhookMux() *http.ServeMux { return s.mux }

// NeedLeaderElection is false: every replica serves admission.
func (*Server) NeedLeaderElection() bool { return false }

// Addr returns the address the server listens on once started, empty before.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Start serves until ctx is done, then drains in-flight requests for at most ShutdownTimeout.
func (s *Server) Start(ctx context.Context) error {
	cfg := &tls.Config{NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12}
	for _, op := range s.opts.TLSOpts {
		op(cfg)
	}
	if cfg.GetCertificate == nil {
		w, err := certwatcher.New(filepath.Join(s.opts.CertDir, "tls.crt"), filepath.Join(s.opts.CertDir, "tls.key"))
		if err != nil {
			return fmt.Errorf("loading the serving certificate: %w", err)
		}
		cfg.GetCertificate = w.GetCertificate
		watchErr := make(chan error, 1)
		go func() { watchErr <- w.Start(ctx) }()
		defer func() {
			// The watcher returns once ctx is done; wait for it so nothing outlives Start.
			if err := <-watchErr; err != nil {
				s.opts.Log.Error(err, "watching the serving certificate")
			}
		}()
	}
	ln, err := tls.Listen("tcp", net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port)), cfg)
	if err != nil {
		return fmt.Errorf("listening for webhook calls: %w", err)
	}
	srv := &http.Server{
		Handler:           s.bounded(s.mux),
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
	s.mu.Lock()
	s.started, s.addr = true, ln.Addr().String()
	s.mu.Unlock()
	s.opts.Log.Info("serving webhooks", "address", ln.Addr().String())

	drained := make(chan error, 1)
	go func() {
		<-ctx.Done()
		// ctx is done: shut down with a context of its own, bounded by the drain time.
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
		defer cancel()
		drained <- srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving webhooks: %w", err)
	}
	if err := <-drained; err != nil {
		return fmt.Errorf("draining webhook calls: %w", err)
	}
	return nil
}

// bounded caps every request body at MaxBodyBytes; the read deadlines are the http.Server's. A
// body announced larger is refused before it is read.
func (s *Server) bounded(next http.Handler) http.Handler {
	capped := http.MaxBytesHandler(next, s.opts.MaxBodyBytes)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			http.Error(w, fmt.Sprintf("request body too large; limit is %d bytes", s.opts.MaxBodyBytes), http.StatusRequestEntityTooLarge)
			return
		}
		// MaxBytesHandler hands next a copy of the request: the server must still see its own
		// body to tell that a handler left it unread, and close the connection then.
		capped.ServeHTTP(w, r)
	})
}

// StartedChecker reports healthy once the server accepts TLS connections.
func (s *Server) StartedChecker() healthz.Checker {
	return func(req *http.Request) error {
		s.mu.Lock()
		started, addr := s.started, s.addr
		s.mu.Unlock()
		if !started {
			return errors.New("webhook server has not been started yet")
		}
		d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second}, Config: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // only checks that the port answers TLS
		conn, err := d.DialContext(req.Context(), "tcp", addr)
		if err != nil {
			return fmt.Errorf("webhook server is not reachable: %w", err)
		}
		return conn.Close()
	}
}
