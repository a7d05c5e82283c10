package report

import (
	"context"
	"crypto/rand"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/utils/clock"

	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/netns"
	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// TestPipelineInKernel runs the whole pipeline on real packets: two network namespaces of its own
// (pal-<run>-k<n>, always deleted) joined by a veth pair hold the fixture's client (198.18.0.10)
// and server (198.18.0.20); hand-written NFLOG rules in the server's INPUT chain log new
// connections with the renderer's prefixes, and real TCP connections (bounded in number and
// time) are made. It checks that
//   - every connection succeeds, and the candidate that would deny them counts exactly the
//     connections made as would-deny (EnforcedOnly);
//   - with the candidate enforced on the server (a canary), connections dropped by a rule logged
//     as shadow and drop, and retransmitted by TCP, are counted once each as denied;
//   - a burst above a low -m limit loses samples, never packets;
//   - a stalled consumer loses samples, counted in nflog_dropped_total, never packets.
//
// Requires root, iproute2, iptables and the nfnetlink_log module.
func TestPipelineInKernel(t *testing.T) {
	nsClient, nsServer := enforcertest.Netns(t), enforcertest.Netns(t)
	run := func(ns string, argv ...string) { t.Helper(); enforcertest.Run(t, ns, "", argv...) }
	run(nsClient, "ip", "link", "set", "lo", "up")
	run(nsServer, "ip", "link", "set", "lo", "up")
	run(nsClient, "ip", "link", "add", "pal-c", "type", "veth", "peer", "name", "pal-s", "netns", nsServer)
	run(nsClient, "ip", "addr", "add", ipClient.String()+"/24", "dev", "pal-c")
	run(nsServer, "ip", "addr", "add", ipServer.String()+"/24", "dev", "pal-s")
	run(nsClient, "ip", "link", "set", "pal-c", "up")
	run(nsServer, "ip", "link", "set", "pal-s", "up")

	var b [1]byte
	_, _ = rand.Read(b[:])
	group := strconv.Itoa(2000 + int(b[0]))
	nflogRule := func(port, prefix string, limit ...string) {
		args := []string{"iptables", "-w", "-A", "INPUT", "-p", "tcp", "--dport", port, "-m", "conntrack", "--ctstate", "NEW"}
		args = append(args, limit...)
		run(nsServer, append(args, "-j", "NFLOG", "--nflog-group", group, "--nflog-prefix", prefix, "--nflog-threshold", "1")...)
	}
	// 8080: observed (Audit); 8081: the canary enforces the candidate (logged, then dropped);
	// 8082: observed under a low limit.
	nflogRule("8080", "SI|prod/server", "-m", "limit", "--limit", "1000/second", "--limit-burst", "1000")
	nflogRule("8081", "SI|prod/server")
	nflogRule("8081", "DI|np/prod/guard@candidate")
	run(nsServer, "iptables", "-w", "-A", "INPUT", "-p", "tcp", "--dport", "8081", "-j", "DROP")
	nflogRule("8082", "SI|prod/server", "-m", "limit", "--limit", "1/hour", "--limit-burst", "3")

	// The server accepts on every port.
	for _, port := range []string{"8080", "8081", "8082"} {
		var l net.Listener
		if err := netns.Do(nsServer, func() error {
			var err error
			l, err = net.Listen("tcp", net.JoinHostPort(ipServer.String(), port))
			return err
		}); err != nil {
			t.Fatalf("listening in %s: %v", nsServer, err)
		}
		t.Cleanup(func() { _ = l.Close() })
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
	}

	// The reader queues at most buffer samples: more than any burst below while the pipeline runs
	// (a goroutine may not be scheduled for a while), fewer than the stalled burst.
	const buffer = 64
	nm := nflog.NewMetrics(nil)
	var reader *nflog.Reader
	if err := netns.Do(nsServer, func() error {
		var err error
		g, _ := strconv.Atoi(group)
		reader, err = nflog.Open(nflog.Config{Group: uint16(g), Buffer: buffer, Metrics: nm})
		return err
	}); err != nil {
		t.Fatalf("opening NFLOG group %s in %s (needs nfnetlink_log: modprobe nfnetlink_log): %v", group, nsServer, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	readerDone := make(chan error, 1)
	go func() { readerDone <- reader.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-readerDone; err != nil {
			t.Errorf("reader: %v", err)
		}
	})

	obs := observe.New(fixtureEngine(t), fixtureGens, observe.Limits{}, nil)
	var canary atomic.Bool
	pm := NewMetrics(nil)
	p := NewPipeline(PipelineConfig{Observer: obs, Clock: clock.RealClock{}, Metrics: pm, Chooser: func() engine.Chooser {
		if canary.Load() {
			return engine.Canary{guard: {server: true}}
		}
		return engine.EnforcedOnly
	}})
	startPipeline := func() (stop func()) {
		pctx, pcancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); p.Run(pctx, reader.Records()) }()
		return func() { pcancel(); <-done }
	}
	stop := startPipeline()

	// connect makes n connections to port in parallel (bounded), and returns how many succeeded.
	connect := func(n int, port string, timeout time.Duration) int {
		var ok atomic.Int64
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for range n {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				err := netns.Do(nsClient, func() error {
					c, err := net.DialTimeout("tcp", net.JoinHostPort(ipServer.String(), port), timeout)
					if err != nil {
						return err
					}
					return c.Close()
				})
				if err == nil {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		return int(ok.Load())
	}
	window := func() observe.Counts {
		for _, ps := range obs.Summary().Policies {
			if ps.Policy == guard {
				return ps.WindowCounts(2)
			}
		}
		return observe.Counts{}
	}
	settle := func(want observe.Counts) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for window() != want && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond) // nothing more arrives
		if got := window(); got != want {
			t.Fatalf("guard's window counts = %+v, want %+v (samples %v, received %v, dropped %d)", got, want, sampleCounts(pm), testutil.ToFloat64(nm.Received), nm.DroppedTotal())
		}
	}

	// Audit: 40 connections, all succeed, 40 would-deny.
	const n = 40
	if got := connect(n, "8080", 2*time.Second); got != n {
		t.Fatalf("%d of %d connections succeeded: observation must never drop a packet", got, n)
	}
	settle(observe.Counts{WouldDeny: n})

	// Canary: the candidate is enforced; two connections time out after TCP retransmitted their
	// SYN (at 1s and 3s), each logged as shadow and drop every time: two denials, nothing more.
	canary.Store(true)
	if got := connect(2, "8081", 3500*time.Millisecond); got != 0 {
		t.Fatalf("%d connections to the dropped port succeeded", got)
	}
	settle(observe.Counts{WouldDeny: n, Denied: 2})
	if r := testutil.ToFloat64(pm.Samples.WithLabelValues("shadow", OutcomeRepeat)) + testutil.ToFloat64(pm.Samples.WithLabelValues("drop", OutcomeRepeat)); r < 4 {
		t.Errorf("repeats = %v, want at least 4 (each connection's drop log, and its retransmissions)", r)
	}
	canary.Store(false)

	// A burst above the limit: 10 connections succeed, 3 are logged and counted.
	if got := connect(10, "8082", 2*time.Second); got != 10 {
		t.Fatalf("%d of 10 connections succeeded under the log limit", got)
	}
	settle(observe.Counts{WouldDeny: n + 3, Denied: 2})

	// A stalled consumer: 100 connections succeed; the reader queues 64 and drops 36, counted.
	stop()
	const stalled = 100
	before := nm.DroppedTotal()
	if got := connect(stalled, "8080", 2*time.Second); got != stalled {
		t.Fatalf("%d of %d connections succeeded with the consumer stalled", got, stalled)
	}
	deadline := time.Now().Add(5 * time.Second)
	for nm.DroppedTotal()-before < stalled-buffer && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := nm.DroppedTotal() - before; got != stalled-buffer {
		t.Errorf("dropped = %d, want %d", got, stalled-buffer)
	}
	if got := testutil.ToFloat64(nm.Dropped.WithLabelValues(nflog.DropConsumer)); got != stalled-buffer {
		t.Errorf("nflog_dropped_total{consumer} = %v, want %d", got, stalled-buffer)
	}
	stop = startPipeline()
	defer stop()
	settle(observe.Counts{WouldDeny: n + 3 + buffer, Denied: 2})
	if got := testutil.ToFloat64(nm.Dropped.WithLabelValues(nflog.DropKernel)); got != 0 {
		t.Errorf("kernel drops = %v, want 0", got)
	}
}

func sampleCounts(m *Metrics) map[string]float64 {
	out := map[string]float64{}
	for _, k := range []string{"shadow", "drop", "unknown"} {
		for _, o := range []string{OutcomeCounted, OutcomeRepeat, OutcomeBadPrefix, OutcomeUnevaluable} {
			if v := testutil.ToFloat64(m.Samples.WithLabelValues(k, o)); v != 0 {
				out[k+"/"+o] = v
			}
		}
	}
	return out
}
