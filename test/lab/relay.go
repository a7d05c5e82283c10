package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// relay accepts connections on a listener inside a node namespace and copies their bytes to and
// from the API server's loopback address, dialled from the root namespace. Close ends every
// connection and waits for its goroutines.
type relay struct {
	l      net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	// cut makes the relay a partition: new connections are closed at once (see partition.go).
	cut   bool
	conns map[net.Conn]struct{}
}

// dialTimeout bounds a relay's connection to the API server.
const dialTimeout = 5 * time.Second

func (r *relay) serve(ctx context.Context) {
	logger := log.FromContext(ctx)
	for {
		c, err := r.l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return
		}
		if !r.track(c) {
			_ = c.Close()
			return
		}
		if r.isCut() {
			r.untrack(c)
			continue
		}
		r.wg.Go(func() {
			defer r.untrack(c)
			up, err := net.DialTimeout("tcp", r.target, dialTimeout)
			if err != nil {
				logger.Error(err, "relay cannot reach the API server", "target", r.target)
				_ = c.Close()
				return
			}
			if !r.track(up) {
				_ = up.Close()
				_ = c.Close()
				return
			}
			defer r.untrack(up)
			if r.isCut() { // cut while dialling
				return
			}
			pipe(c, up)
		})
	}
}

// pipe copies both ways until either side ends, then closes both.
func pipe(a, b net.Conn) {
	var once sync.Once
	done := func() { once.Do(func() { _ = a.Close(); _ = b.Close() }) }
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = io.Copy(a, b); done() })
	wg.Go(func() { _, _ = io.Copy(b, a); done() })
	wg.Wait()
}

func (r *relay) track(c net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.conns[c] = struct{}{}
	return true
}

func (r *relay) untrack(c net.Conn) {
	r.mu.Lock()
	delete(r.conns, c)
	r.mu.Unlock()
	_ = c.Close()
}

func (r *relay) Close() error {
	r.mu.Lock()
	r.closed = true
	err := r.l.Close()
	for c := range r.conns {
		_ = c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// startRelays starts one relay per node and writes the nodes' kubeconfigs.
func (l *Lab) startRelays(ctx context.Context) error {
	u, err := url.Parse(l.Config.Host)
	if err != nil {
		return fmt.Errorf("reading the API server address %q: %w", l.Config.Host, err)
	}
	kc, err := nodeKubeconfig(l.env.KubeConfig)
	if err != nil {
		return err
	}
	for _, n := range l.nodes {
		ln, err := n.ns.Listen(ctx, "tcp4", relayAddr)
		if err != nil {
			return fmt.Errorf("node %s: starting the API server relay: %w", n.Name, err)
		}
		r := &relay{l: ln, target: u.Host, conns: map[net.Conn]struct{}{}}
		r.wg.Go(func() { r.serve(ctx) })
		l.onClose("API server relay of node "+n.Name, r.Close)
		n.relay = r
		n.dir = filepath.Join(l.Dir, "nodes", n.Name)
		if err := os.MkdirAll(n.dir, 0o700); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		n.kubeconfig = filepath.Join(n.dir, "kubeconfig")
		if err := os.WriteFile(n.kubeconfig, kc, 0o600); err != nil {
			return fmt.Errorf("node %s: writing its kubeconfig: %w", n.Name, err)
		}
	}
	return nil
}
