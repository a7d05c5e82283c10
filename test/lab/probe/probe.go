package probe

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// Namespace runs fn on a thread inside a network namespace; *netns.NS is one.
type Namespace interface {
	Do(fn func() error) error
}

// Endpoint is a pod to probe from and to.
type Endpoint struct {
	// Ref is "namespace/name", the matrix's from and to.
	Ref string
	IP  netip.Addr
	// NS is the pod's network namespace, where its probes' sockets are created. For ICMP it must
	// allow unprivileged ICMP echo sockets (net.ipv4.ping_group_range).
	NS Namespace
}

// Options bound a run.
type Options struct {
	// Timeout bounds one probe (default 1 s).
	Timeout time.Duration
	// Parallel is how many probes run at once (default 32).
	Parallel int
	// Attempts is how many UDP datagrams or ICMP requests one probe sends at most, spread over
	// Timeout (default 3): the first packet to a new neighbour can be lost, a connection's SYN
	// is retransmitted by the kernel instead.
	Attempts int
	// Retries is how many more times a flow that got no answer is probed, after all the others
	// (default 1; negative for none). A denied verdict costs (1 + Retries) timeouts.
	Retries int
}

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = time.Second
	}
	if o.Parallel <= 0 {
		o.Parallel = 32
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	switch {
	case o.Retries == 0:
		o.Retries = 1
	case o.Retries < 0:
		o.Retries = 0
	}
	return o
}

// Run probes every port from every endpoint to every other endpoint and returns the verdicts in
// Sort order. A flow is allowed when any of its probes was answered; one that never was is a
// denied verdict with the last Reason. Run itself fails only when ctx ends or a socket cannot be
// created in a source namespace.
func Run(ctx context.Context, eps []Endpoint, ports []Port, opts Options) ([]Verdict, error) {
	opts = opts.withDefaults()
	verdicts := make([]Verdict, 0, len(eps)*len(eps)*len(ports))
	var jobs []job
	for _, p := range ports {
		for _, from := range eps {
			for _, to := range eps {
				if from.Ref != to.Ref {
					verdicts = append(verdicts, Verdict{From: from.Ref, To: to.Ref, Port: p.Port, Protocol: p.Protocol})
					jobs = append(jobs, job{from: from, to: to, port: p})
				}
			}
		}
	}
	for i := range jobs {
		jobs[i].out = &verdicts[i]
	}
	if err := runWithRetries(ctx, jobs, opts); err != nil {
		return nil, err
	}
	Sort(verdicts)
	return verdicts, nil
}

// runWithRetries runs the jobs, then again those not answered, up to opts.Retries more times: an
// answer is proof, a silence may be a probe starved of CPU on a loaded machine.
func runWithRetries(ctx context.Context, jobs []job, opts Options) error {
	for pass := 0; pass <= opts.Retries && len(jobs) > 0; pass++ {
		if err := runJobs(ctx, jobs, opts); err != nil {
			return err
		}
		var again []job
		for _, j := range jobs {
			if !j.out.Allowed {
				again = append(again, j)
			}
		}
		jobs = again
	}
	return nil
}

type job struct {
	from, to Endpoint
	port     Port
	out      *Verdict
}

// runJobs runs jobs, opts.Parallel at a time, writing each verdict to its out.
func runJobs(ctx context.Context, jobs []job, opts Options) error {
	sem := make(chan struct{}, opts.Parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return fmt.Errorf("probing: %w", ctx.Err())
		}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, reason, err := one(ctx, j.from, j.to, j.port, opts)
			if err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("probing %s -> %s %s: %w", j.from.Ref, j.to.Ref, j.port, err))
				mu.Unlock()
				return
			}
			j.out.Allowed, j.out.Reason = ok, reason
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("probing: %w", err)
	}
	return nil
}

// one runs a probe. err is for failures of the prober itself; a flow that is not answered is
// (false, reason, nil).
func one(ctx context.Context, from, to Endpoint, p Port, o Options) (bool, string, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	token := []byte(from.Ref + " -> " + to.Ref + " " + p.String())
	switch p.Protocol {
	case TCP:
		return probeTCP(ctx, from, to, p.Port, token)
	case UDP:
		return probeUDP(ctx, from, to, p.Port, token, o)
	case ICMP:
		return probeICMP(ctx, from, to, token, o)
	}
	return false, "", fmt.Errorf("protocol %q is not TCP, UDP or ICMP", p.Protocol)
}

// dial creates and connects a socket inside from's namespace. The connect itself is bounded by ctx.
func dial(ctx context.Context, from Endpoint, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := from.NS.Do(func() error {
		var err error
		c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

func probeTCP(ctx context.Context, from, to Endpoint, port uint16, token []byte) (bool, string, error) {
	c, err := dial(ctx, from, "tcp4", netip.AddrPortFrom(to.IP, port).String())
	if err != nil {
		return false, "connect: " + reason(err), nil
	}
	defer c.Close()
	deadline, _ := ctx.Deadline()
	_ = c.SetDeadline(deadline)
	if _, err := c.Write(token); err != nil {
		return false, "write: " + reason(err), nil
	}
	got := make([]byte, len(token))
	if _, err := readFull(c, got); err != nil {
		return false, "read: " + reason(err), nil
	}
	if !bytes.Equal(got, token) {
		return false, fmt.Sprintf("answer %q is not the echo", got), nil
	}
	return true, "", nil
}

func readFull(c net.Conn, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func probeUDP(ctx context.Context, from, to Endpoint, port uint16, token []byte, o Options) (bool, string, error) {
	c, err := dial(ctx, from, "udp4", netip.AddrPortFrom(to.IP, port).String())
	if err != nil {
		return false, "", fmt.Errorf("creating a UDP socket: %w", err)
	}
	defer c.Close()
	last := "no answer"
	buf := make([]byte, 2*len(token))
	for attempt := range o.Attempts {
		if _, err := c.Write(token); err != nil {
			last = "write: " + reason(err)
			continue
		}
		_ = c.SetReadDeadline(attemptDeadline(ctx, attempt, o.Attempts))
		for {
			n, err := c.Read(buf)
			if err != nil {
				last = "read: " + reason(err)
				break
			}
			if bytes.Equal(buf[:n], token) {
				return true, "", nil
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return false, last, nil
}

// attemptDeadline spreads attempts evenly over ctx's deadline.
func attemptDeadline(ctx context.Context, attempt, attempts int) time.Time {
	deadline, _ := ctx.Deadline()
	left := time.Until(deadline)
	return time.Now().Add(left / time.Duration(attempts-attempt))
}

func probeICMP(ctx context.Context, from, to Endpoint, token []byte, o Options) (bool, string, error) {
	var c *icmp.PacketConn
	err := from.NS.Do(func() error {
		var err error
		// An unprivileged ICMP echo socket: the kernel picks the identifier and hands this socket
		// only the replies to it.
		c, err = icmp.ListenPacket("udp4", "0.0.0.0")
		return err
	})
	if err != nil {
		return false, "", fmt.Errorf("creating an ICMP echo socket (is net.ipv4.ping_group_range set in %s's namespace?): %w", from.Ref, err)
	}
	defer c.Close()
	dst := &net.UDPAddr{IP: to.IP.AsSlice()}
	last := "no answer"
	buf := make([]byte, 1500)
	for attempt := range o.Attempts {
		msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{Seq: attempt + 1, Data: token}}
		b, err := msg.Marshal(nil)
		if err != nil {
			return false, "", fmt.Errorf("building an echo request: %w", err)
		}
		if _, err := c.WriteTo(b, dst); err != nil {
			last = "write: " + reason(err)
			continue
		}
		_ = c.SetReadDeadline(attemptDeadline(ctx, attempt, o.Attempts))
		for {
			n, peer, err := c.ReadFrom(buf)
			if err != nil {
				last = "read: " + reason(err)
				break
			}
			reply, err := icmp.ParseMessage(1, buf[:n])
			if err != nil || reply.Type != ipv4.ICMPTypeEchoReply {
				continue
			}
			echo, ok := reply.Body.(*icmp.Echo)
			if ok && bytes.Equal(echo.Data, token) && peer.String() == dst.String() {
				return true, "", nil
			}
		}
		if ctx.Err() != nil {
			break
		}
	}
	return false, last, nil
}

// reason shortens a network error to what tells a drop (timeout) from a refusal.
func reason(err error) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}
