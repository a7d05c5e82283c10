package probe

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/palisade-dev/palisade/test/lab/echo"
)

func TestRunFlowsProbesOnlyThoseFlows(t *testing.T) {
	l, err := net.Listen("tcp4", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := uint16(l.Addr().(*net.TCPAddr).Port)
	s := echo.Serve([]net.Listener{l}, nil)
	defer s.Close()
	a := Endpoint{Ref: "ns/a", IP: netip.MustParseAddr("127.0.0.1"), NS: here{}}
	b := Endpoint{Ref: "ns/b", IP: netip.MustParseAddr("127.0.0.2"), NS: here{}}
	c := Endpoint{Ref: "ns/c", IP: netip.MustParseAddr("127.0.0.3"), NS: here{}}
	flows := []Flow{{From: c, To: a, Port: Port{port, TCP}}, {From: a, To: b, Port: Port{port, TCP}}}
	got, err := RunFlows(context.Background(), flows, Options{Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	want := []Verdict{
		{From: "ns/a", To: "ns/b", Port: port, Protocol: TCP, Allowed: true},
		{From: "ns/c", To: "ns/a", Port: port, Protocol: TCP, Allowed: false},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Verdict{}, "Reason")); diff != "" {
		t.Errorf("RunFlows (-want +got):\n%s", diff)
	}
	if got[1].Reason == "" {
		t.Error("a denied flow has no reason")
	}
}
