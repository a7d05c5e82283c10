package nflog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/netip"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/vishvananda/netns"
	"golang.org/x/net/icmp"
	xipv4 "golang.org/x/net/ipv4"
)

// TestReaderInNamespace reads real NFLOG messages: it creates a network namespace of its own
// (pal-nflog-<random>, always deleted), logs new connections leaving OUTPUT to one address with
// an NFLOG rule, sends a TCP SYN, a UDP datagram and an ICMP echo on the namespace's loopback and
// expects exactly those three records. It never touches the root namespace. Requires root,
// iproute2 and iptables.
func TestReaderInNamespace(t *testing.T) {
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: this test needs root, iproute2 and iptables (apt-get install iproute2 iptables): %v", tool, err)
		}
	}
	ns := newNamespace(t)
	const addr = "198.18.0.1"
	const prefix = "pal-test-wd"
	group := 1000 + int(randByte(t))
	run(t, "ip", "-n", ns.name, "link", "set", "lo", "up")
	run(t, "ip", "-n", ns.name, "addr", "add", addr+"/32", "dev", "lo")
	run(t, "ip", "netns", "exec", ns.name, "iptables", "-w", "-A", "OUTPUT", "-d", addr,
		"-m", "conntrack", "--ctstate", "NEW",
		"-j", "NFLOG", "--nflog-group", strconv.Itoa(group), "--nflog-prefix", prefix, "--nflog-threshold", "1")

	metrics := NewMetrics(nil)
	var r *Reader
	ns.do(t, func() {
		var err error
		r, err = Open(Config{Group: uint16(group), CopyRange: 128, Buffer: 16, Metrics: metrics})
		if err != nil {
			t.Fatalf("NFLOG does not work in a network namespace on this kernel: opening group %d in %s: %v "+
				"(needs the nfnetlink_log module: modprobe nfnetlink_log)", group, ns.name, err)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	// The three packets, each from a socket created inside the namespace.
	ns.do(t, func() {
		d := net.Dialer{Timeout: 2 * time.Second}
		if c, err := d.Dial("tcp", net.JoinHostPort(addr, "7")); err == nil {
			_ = c.Close() // nothing listens: a refused connection is expected, either way one SYN left
		}
		u, err := net.Dial("udp", net.JoinHostPort(addr, "9"))
		if err != nil {
			t.Fatalf("udp socket: %v", err)
		}
		if _, err := u.Write([]byte("x")); err != nil {
			t.Fatalf("udp send: %v", err)
		}
		_ = u.Close()
		ic, err := icmp.ListenPacket("ip4:icmp", addr)
		if err != nil {
			t.Fatalf("icmp socket: %v", err)
		}
		defer func() { _ = ic.Close() }()
		msg, _ := (&icmp.Message{Type: xipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: 7, Seq: 1, Data: []byte("pal")}}).Marshal(nil)
		if _, err := ic.WriteTo(msg, &net.IPAddr{IP: net.ParseIP(addr)}); err != nil {
			t.Fatalf("icmp send: %v", err)
		}
	})

	a := netip.MustParseAddr(addr)
	want := map[uint8]Packet{
		6:  {Src: a, Dst: a, Protocol: 6, DstPort: 7, TCPFlags: 0x02},
		17: {Src: a, Dst: a, Protocol: 17, DstPort: 9},
		1:  {Src: a, Dst: a, Protocol: 1, HasICMP: true, ICMPType: 8},
	}
	deadline := time.After(5 * time.Second)
	for got := 0; got < 3; got++ {
		select {
		case rec := <-r.Records():
			w, ok := want[rec.Packet.Protocol]
			if !ok {
				t.Fatalf("unexpected or duplicate record: %+v", rec)
			}
			delete(want, rec.Packet.Protocol)
			w.SrcPort = rec.Packet.SrcPort // ephemeral; checked below for TCP/UDP
			if rec.Packet != w {
				t.Errorf("packet = %+v, want %+v", rec.Packet, w)
			}
			if w.Protocol != 1 && rec.Packet.SrcPort == 0 {
				t.Errorf("protocol %d: source port 0", w.Protocol)
			}
			if rec.Prefix != prefix {
				t.Errorf("prefix = %q, want %q", rec.Prefix, prefix)
			}
			if rec.OutDev != 1 || rec.InDev != 0 { // lo is ifindex 1 in a new namespace
				t.Errorf("devices in %d out %d, want in 0 out 1 (lo)", rec.InDev, rec.OutDev)
			}
			if rec.HWProtocol != 0x0800 {
				t.Errorf("hw protocol %#x, want 0x0800", rec.HWProtocol)
			}
		case <-deadline:
			t.Fatalf("NFLOG in a network namespace: after 5s still missing records for protocols %v "+
				"(is the NFLOG target available? iptables -j NFLOG needs xt_NFLOG and nfnetlink_log)", keys(want))
		}
	}
	select {
	case rec := <-r.Records():
		t.Fatalf("extra record: %+v", rec)
	case <-time.After(300 * time.Millisecond):
	}
	if v := testutil.ToFloat64(metrics.Received); v != 3 {
		t.Errorf("received = %v, want 3", v)
	}
}

type namespace struct {
	name   string
	handle netns.NsHandle
}

func newNamespace(t *testing.T) *namespace {
	t.Helper()
	name := "pal-nflog-" + hex.EncodeToString([]byte{randByte(t), randByte(t), randByte(t)})
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("deleting namespace %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("namespace %s: %v", name, err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return &namespace{name: name, handle: h}
}

// do runs fn on a thread switched into the namespace, so the sockets fn creates live there, and
// switches the thread back (a thread that cannot switch back is never reused).
func (n *namespace) do(t *testing.T, fn func()) {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("current namespace: %v", err)
	}
	defer func() { _ = orig.Close() }()
	if err := netns.Set(n.handle); err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("entering %s: %v", n.name, err)
	}
	defer func() {
		if err := netns.Set(orig); err != nil {
			// Leave the thread locked: the runtime then ends it with this goroutine.
			t.Errorf("returning from %s: %v", n.name, err)
			return
		}
		runtime.UnlockOSThread()
	}()
	fn()
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func randByte(t *testing.T) byte {
	var b [1]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return b[0]
}

func keys(m map[uint8]Packet) []uint8 {
	var k []uint8
	for p := range m {
		k = append(k, p)
	}
	return k
}
