package syncer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/iptables"
	"github.com/palisade-dev/palisade/pkg/engine"
	labnetns "github.com/palisade-dev/palisade/test/lab/netns"
)

// gateway is the pods' on-link gateway, as in the lab (test/lab/topology): no interface holds
// it, a static neighbour entry maps it to the node's end of the pod's veth.
var gateway = netip.MustParseAddr("198.19.254.1")

// datapathTopology is a node namespace with two pods behind it, each a namespace joined to the
// node by a veth (the lab's recipe: /32 addresses and routes, static neighbours), so that traffic
// between the pods crosses the node's FORWARD chain, where the enforcer hooks.
type datapathTopology struct {
	node, server, client *labnetns.NS
}

func newDatapathTopology(b *testing.B, serverIP, clientIP netip.Addr) *datapathTopology {
	b.Helper()
	enforcertest.Require(b)
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	prefix := labnetns.Root + "perf" + hex.EncodeToString(id) + "-"
	t := &datapathTopology{}
	for _, p := range []struct {
		ns   **labnetns.NS
		name string
	}{{&t.node, "node"}, {&t.server, "srv"}, {&t.client, "cli"}} {
		ns, err := labnetns.Create(prefix + p.name)
		if err != nil {
			b.Fatal(err)
		}
		*p.ns = ns
		b.Cleanup(func() {
			if err := errors.Join(ns.Close(), labnetns.Delete(ns.Name)); err != nil {
				b.Errorf("removing %s: %v", ns.Name, err)
			}
		})
	}
	if err := t.node.WriteSysctl("net.ipv4.ip_forward", "1"); err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct {
		pod    *labnetns.NS
		ip     netip.Addr
		nodeIf string
	}{{t.server, serverIP, "psrv"}, {t.client, clientIP, "pcli"}} {
		if err := attachPod(t.node, p.pod, p.nodeIf, p.ip); err != nil {
			b.Fatal(err)
		}
	}
	return t
}

func hostRoute(a netip.Addr) *net.IPNet {
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(32, 32)}
}

// attachPod joins a pod namespace to the node as the lab does (test/lab/network.go addPod).
func attachPod(node, pod *labnetns.NS, nodeIf string, ip netip.Addr) error {
	nl, err := node.Netlink()
	if err != nil {
		return err
	}
	defer nl.Close()
	pl, err := pod.Netlink()
	if err != nil {
		return err
	}
	defer pl.Close()
	if err := nl.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: nodeIf}, PeerName: "eth0", PeerNamespace: netlink.NsFd(pod.Handle())}); err != nil {
		return fmt.Errorf("creating veth %s: %w", nodeIf, err)
	}
	host, err := nl.LinkByName(nodeIf)
	if err != nil {
		return err
	}
	podSide, err := pl.LinkByName("eth0")
	if err != nil {
		return err
	}
	gw := hostRoute(gateway)
	steps := []func() error{
		func() error { return nl.LinkSetUp(host) },
		func() error { return pl.AddrAdd(podSide, &netlink.Addr{IPNet: hostRoute(ip)}) },
		func() error { return pl.LinkSetUp(podSide) },
		func() error {
			return pl.NeighSet(&netlink.Neigh{LinkIndex: podSide.Attrs().Index, IP: gw.IP, HardwareAddr: host.Attrs().HardwareAddr, State: netlink.NUD_PERMANENT})
		},
		func() error {
			return pl.RouteAdd(&netlink.Route{LinkIndex: podSide.Attrs().Index, Dst: gw, Scope: netlink.SCOPE_LINK})
		},
		func() error { return pl.RouteAdd(&netlink.Route{LinkIndex: podSide.Attrs().Index, Gw: gw.IP}) },
		func() error {
			return nl.NeighSet(&netlink.Neigh{LinkIndex: host.Attrs().Index, IP: ip.AsSlice(), HardwareAddr: podSide.Attrs().HardwareAddr, State: netlink.NUD_PERMANENT})
		},
		func() error {
			return nl.RouteAdd(&netlink.Route{LinkIndex: host.Attrs().Index, Dst: hostRoute(ip), Scope: netlink.SCOPE_LINK})
		},
	}
	for i, s := range steps {
		if err := s(); err != nil {
			return fmt.Errorf("attaching %s (step %d): %w", pod.Name, i, err)
		}
	}
	return nil
}

// serve accepts connections on addr in the server pod until the benchmark ends, closing each
// after reading to its end.
func serve(b *testing.B, ns *labnetns.NS, addr string) {
	l, err := ns.Listen(context.Background(), "tcp4", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = io.Copy(io.Discard, c)
				_ = c.Close()
			}()
		}
	}()
}

// connect opens n TCP connections one after another from the client pod to addr, each closed
// with a reset (no TIME_WAIT, so the ports are not exhausted), and returns how long they took.
func connect(tb testing.TB, ns *labnetns.NS, addr string, n int) cost {
	var c cost
	err := ns.Do(func() error {
		d := net.Dialer{Timeout: 2 * time.Second}
		c = measure(tb, func() {
			for i := range n {
				conn, err := d.Dial("tcp4", addr)
				if err != nil {
					tb.Fatalf("connection %d to %s: %v", i, addr, err)
				}
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			}
		})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// timedConnects returns a benchmark case that opens n connections from topo's client to addr,
// after 50 that warm the neighbours and caches. The benchmark's own heap (BenchmarkDatapath's
// three engines of 10,000 pods) is collected before each timing and not during it: a
// collection's marking takes one of the machine's two cores for as long as it runs, whichever
// case it falls in.
func timedConnects(topo *datapathTopology, addr string, n int) func(testing.TB) cost {
	return func(tb testing.TB) cost {
		runtime.GC()
		defer debug.SetGCPercent(debug.SetGCPercent(-1))
		connect(tb, topo.client, addr, 50)
		return connect(tb, topo.client, addr, n)
	}
}

// BenchmarkDatapath measures new TCP connections per second between two pods through one node's
// namespace (a veth each, the lab's topology), in the same run and topology, interleaved round by
// round:
//
//   - none: no Palisade rule at all (no hook, so no conntrack either): the baseline;
//   - kube-proxy: no Palisade rule, but what kube-proxy's iptables mode keeps in FORWARD on every
//     Kubernetes node (kubeProxyForward): connection tracking on, as on any real node, so the
//     baseline a node would have without Palisade;
//   - skeleton: the engine's cluster with no policy (the node's dispatch chains, conntrack,
//     every flow allowed by the profile);
//   - policies: the full-sync cluster (10,000 pods, 100 on the node, 1,000 policies, 1,000
//     selector sets of 10 members), the server being one of the node's pods: its ingress chain
//     walks all ten of its namespace's policies (a selector-set match and a CIDR each) before the
//     last one allows the client;
//   - policies-first: the same cluster with the client allowed by the server's first policy.
//
// The client is a pod of another node of the same namespace, so only the server's ingress side
// is evaluated on this node, as for traffic between nodes. Each case has its own topology (the
// same recipe), programmed by the syncer once before any round is timed.
//
//	go test -run '^$' -bench BenchmarkDatapath -benchtime 1x ./enforcer/syncer/   # as root
var (
	datapathSettle = flag.Duration("datapath-settle", time.Second, "BenchmarkDatapath: pause between programming the cases and timing them")
	datapathConns  = flag.Int("datapath-conns", 2000, "BenchmarkDatapath: connections timed per case and round")
)

// kubeProxyForward is what kube-proxy (iptables mode, 1.29 and later) writes to the filter table's
// FORWARD path on every node, whatever the Services: the KUBE-FORWARD chain that drops what
// conntrack calls INVALID and accepts marked and established traffic. Its conntrack matches are
// what turn connection tracking on in the node's namespace.
const kubeProxyForward = `*filter
:KUBE-FORWARD - [0:0]
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
`

func BenchmarkDatapath(b *testing.B) {
	if _, err := exec.LookPath("conntrack"); err != nil {
		// It reads the kube-proxy and none cases' connection tracking (below).
		b.Fatalf("conntrack not found (%v): apt-get install conntrack", err)
	}
	conns := *datapathConns
	shape := clusterShape{10000, 100, 1000}
	full := shape.build(b)
	bare := clusterShape{10000, 100, 0}.build(b)
	server := shape.benchPod(0, 0, podApp(0)) // on n0, selected by ns0's ten policies
	client := shape.benchPod(0, 10, podApp(10))
	if server.Node != benchNode || client.Node == benchNode {
		b.Fatalf("server on %s, client on %s", server.Node, client.Node)
	}
	// The same cluster with the client allowed by the server's first policy (app a1): one policy
	// chain walked instead of ten, to tell the cost of the walk from that of the ruleset's size.
	first := shape.build(b)
	early := client
	early.Labels = map[string]string{"app": podApp(1)}
	if err := first.UpsertPod(early); err != nil {
		b.Fatal(err)
	}
	addr := netip.AddrPortFrom(server.IPs[0], 80).String()
	tools := iptables.ToolsFor(iptables.NFT, desired.IPv4)
	ctx := context.Background()

	// Every case has a topology of its own, built and programmed once before any timing: the
	// rounds then alternate between topologies that differ only in their rules. Programming a
	// case between rounds (as this benchmark did before) timed the kernel's work after a large
	// change along with the connections: the old rules and sets are freed in RCU callbacks that
	// run in softirq on whatever task is current, so the case after a big swap paid for it.
	type datapathCase struct {
		name      string
		rules     *engine.Engine // nil: no Palisade rule
		kubeProxy bool
		topo      *datapathTopology
	}
	cases := []*datapathCase{{name: "none"}, {name: "kube-proxy", kubeProxy: true},
		{name: "skeleton", rules: bare}, {name: "policies", rules: full}, {name: "policies-first", rules: first}}
	for _, c := range cases {
		c.topo = newDatapathTopology(b, server.IPs[0], client.IPs[0])
		serve(b, c.topo.server, addr)
		nodeExec := command.Exec{Netns: c.topo.node.Name}
		if c.kubeProxy {
			if _, err := nodeExec.Run(ctx, []byte(kubeProxyForward), tools.Restore, "--noflush", "-w", "5"); err != nil {
				b.Fatalf("kube-proxy's rules: %v", err)
			}
		}
		if c.rules == nil {
			continue
		}
		e := c.rules
		s := newBenchSyncer(b, c.topo.node.Name, nodeExec, func(context.Context) (desired.Ruleset, error) {
			return renderNode(e)
		}, tools)
		if _, err := s.Sync(ctx, true); err != nil {
			b.Fatalf("programming %s: %v", c.name, err)
		}
		b.Cleanup(func() {
			if _, err := Cleanup(ctx, s.Families, s.Sets); err != nil {
				b.Errorf("cleaning %s up: %v", c.name, err)
			}
		})
	}
	byName := map[string]*datapathCase{}
	for _, c := range cases {
		byName[c.name] = c
	}

	// A denied flow proves the rules are in the path: the client's app a10 is allowed (by ns0's
	// last policy), an app no policy names is not. The policies case's node is programmed
	// again for it, then back.
	denied := client
	denied.Labels = map[string]string{"app": "none"}
	pol := byName["policies"]
	reprogram := func(e *engine.Engine) {
		s := newBenchSyncer(b, pol.topo.node.Name, command.Exec{Netns: pol.topo.node.Name}, func(context.Context) (desired.Ruleset, error) {
			return renderNode(e)
		}, tools)
		if _, err := s.Sync(ctx, true); err != nil {
			b.Fatal(err)
		}
	}
	if err := full.UpsertPod(denied); err != nil {
		b.Fatal(err)
	}
	reprogram(full)
	err := pol.topo.client.Do(func() error {
		c, err := (&net.Dialer{Timeout: 300 * time.Millisecond}).Dial("tcp4", addr)
		if err == nil {
			_ = c.Close()
			return errors.New("a connection the policies deny was answered")
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := full.UpsertPod(client); err != nil {
		b.Fatal(err)
	}
	reprogram(full)
	// kube-proxy's rules turn connection tracking on: after one connection, that case's node
	// holds a conntrack entry; the none case's node (no rule at all) keeps no table.
	for _, c := range []*datapathCase{byName["kube-proxy"], byName["none"]} {
		connect(b, c.topo.client, addr, 1)
		out, err := command.Exec{Netns: c.topo.node.Name}.Run(ctx, nil, "conntrack", "-L", "-p", "tcp", "--dport", "80")
		tracked := err == nil && strings.Contains(string(out), "dport=80")
		if tracked != c.kubeProxy {
			b.Fatalf("%s: conntrack entry for the connection %v, want %v (%v): %s", c.name, tracked, c.kubeProxy, err, out)
		}
	}
	time.Sleep(*datapathSettle)

	names := make([]string, len(cases))
	bcs := make([]benchCase, len(cases))
	for i, c := range cases {
		names[i] = c.name
		bcs[i] = benchCase{c.name, timedConnects(c.topo, addr, conns)}
	}
	for b.Loop() {
		res := interleave(b, *benchRounds, bcs)
		report(b, res, names, "none")
		for _, name := range names {
			b.ReportMetric(float64(conns)/median(res[name], wallOf).Seconds(), name+"-conn/s")
		}
		// rate is the connections per second of a case over those of base: the median over the
		// rounds of the ratio within a round (base's time over the case's), so that a change in
		// the machine's speed between rounds (its two cores are shared) cancels out of each
		// ratio instead of moving one case's median and not the other's.
		rate := func(name, base string) float64 {
			ratios := make([]float64, len(res[name]))
			for r := range ratios {
				ratios[r] = float64(res[base][r].wall) / float64(res[name][r].wall)
			}
			slices.Sort(ratios)
			if n := len(ratios); n%2 == 0 {
				return (ratios[n/2-1] + ratios[n/2]) / 2
			}
			return ratios[len(ratios)/2]
		}
		b.ReportMetric(rate("policies", "none"), "policies/none")
		b.ReportMetric(rate("policies", "kube-proxy"), "policies/kube-proxy")
		b.ReportMetric(rate("policies", "skeleton"), "policies/skeleton")
		b.Logf("connections per second against none: policies %.2f, policies-first %.2f, skeleton %.2f, kube-proxy %.2f",
			rate("policies", "none"), rate("policies-first", "none"), rate("skeleton", "none"), rate("kube-proxy", "none"))
		b.Logf("policies against kube-proxy (conntrack on, no Palisade rule) %.2f, against skeleton %.2f",
			rate("policies", "kube-proxy"), rate("policies", "skeleton"))
	}
}
