package probe

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-dev/palisade/test/lab/echo"
)

// here runs probes in the test's own namespace: loopback addresses stand for pods.
type here struct{}

func (here) Do(fn func() error) error { return fn() }

func TestRunOnLoopback(t *testing.T) {
	// b serves TCP and UDP on one port; c serves nothing, so its probes are refused or unanswered.
	l, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	u, err := net.ListenPacket("udp4", netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), port).String())
	if err != nil {
		t.Fatal(err)
	}
	s := echo.Serve([]net.Listener{l}, []net.PacketConn{u})
	defer s.Close()

	eps := []Endpoint{
		{Ref: "ns/a", IP: netip.MustParseAddr("127.0.0.1"), NS: here{}},
		{Ref: "ns/b", IP: netip.MustParseAddr("127.0.0.2"), NS: here{}},
		{Ref: "ns/c", IP: netip.MustParseAddr("127.0.0.3"), NS: here{}},
	}
	start := time.Now()
	got, err := Run(context.Background(), eps, []Port{{port, UDP}, {port, TCP}}, Options{Timeout: 300 * time.Millisecond, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("12 probes with a 300ms timeout took %v", d)
	}
	var want []Verdict
	for _, proto := range []string{TCP, UDP} {
		for _, from := range []string{"ns/a", "ns/b", "ns/c"} {
			for _, to := range []string{"ns/a", "ns/b", "ns/c"} {
				if from != to {
					want = append(want, Verdict{From: from, To: to, Port: port, Protocol: proto, Allowed: to == "ns/b"})
				}
			}
		}
	}
	if d := Diff(got, want); len(d) != 0 || len(got) != len(want) {
		t.Errorf("measured %d verdicts, mismatches: %v", len(got), d)
	}
	for _, v := range got {
		if !v.Allowed && v.Reason == "" {
			t.Errorf("%s -> %s %d/%s denied without a reason", v.From, v.To, v.Port, v.Protocol)
		}
	}
}

func TestRunStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	eps := []Endpoint{{Ref: "ns/a", IP: netip.MustParseAddr("127.0.0.1"), NS: here{}}, {Ref: "ns/b", IP: netip.MustParseAddr("127.0.0.2"), NS: here{}}}
	if _, err := Run(ctx, eps, []Port{{9, TCP}}, Options{Parallel: 1}); err == nil {
		t.Error("Run with a cancelled context succeeded")
	}
}
