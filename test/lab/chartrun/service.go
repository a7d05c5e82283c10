package chartrun

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// service plays a Service of the controller's pods: a loopback listener of the lab process (where
// the API server calls) forwarding each connection to the target port of one of the running
// replicas, in turn, inside its namespace, as kube-proxy spreads connections over the endpoints.
// A replica that refuses the connection (not serving yet, or gone) is skipped.
type service struct {
	ln     net.Listener
	cancel context.CancelFunc
	next   atomic.Uint64

	mu      sync.Mutex
	port    int32
	targets []*Pod
}

func newService() (*service, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the webhook service: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &service{ln: ln, cancel: cancel}
	go s.serve(ctx)
	return s, nil
}

// Port is the listener's port on 127.0.0.1.
func (s *service) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// setTargets sets the pods and their container port connections go to.
func (s *service) setTargets(port int32, pods []*Pod) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.port, s.targets = port, pods
}

func (s *service) serve(ctx context.Context) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.forward(ctx, c)
	}
}

func (s *service) forward(ctx context.Context, c net.Conn) {
	defer c.Close()
	s.mu.Lock()
	port, targets := s.port, s.targets
	s.mu.Unlock()
	start := s.next.Add(1)
	for i := range targets {
		p := targets[(int(start)+i)%len(targets)]
		if !p.Running() {
			continue
		}
		d, err := p.NS.DialContext(ctx, &net.Dialer{Timeout: 2 * time.Second}, "tcp4", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		defer d.Close()
		go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
		_, _ = io.Copy(c, d)
		return
	}
}

func (s *service) close() {
	s.cancel()
	_ = s.ln.Close()
}
