package echo

import (
	"errors"
	"net"
	"sync"
	"time"
)

// maxMessage bounds what one read takes and one answer sends.
const maxMessage = 1024

// connLifetime bounds how long a TCP connection is served: a prober's exchange takes
// milliseconds, so anything longer is a stuck client.
const connLifetime = 5 * time.Second

// Server serves its listeners until Close. It is safe for concurrent use.
type Server struct {
	wg      sync.WaitGroup
	mu      sync.Mutex
	closed  bool
	closers []func() error
	conns   map[net.Conn]struct{}
}

// Serve starts serving tcp and udp and returns at once.
func Serve(tcp []net.Listener, udp []net.PacketConn) *Server {
	s := &Server{conns: map[net.Conn]struct{}{}}
	for _, l := range tcp {
		s.closers = append(s.closers, l.Close)
		s.wg.Go(func() { s.acceptLoop(l) })
	}
	for _, c := range udp {
		s.closers = append(s.closers, c.Close)
		s.wg.Go(func() { serveUDP(c) })
	}
	return s
}

// Close closes every listener and open connection and waits for the goroutines to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	for _, c := range s.closers {
		if err := c(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return errors.Join(errs...)
}

func (s *Server) acceptLoop(l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		s.wg.Go(func() {
			serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		})
	}
}

// serveConn echoes what arrives until the client closes or the lifetime ends.
func serveConn(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(connLifetime))
	buf := make([]byte, maxMessage)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// serveUDP answers each datagram with its own bytes, to its sender.
func serveUDP(c net.PacketConn) {
	buf := make([]byte, maxMessage)
	for {
		n, addr, err := c.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		_, _ = c.WriteTo(buf[:n], addr)
	}
}
