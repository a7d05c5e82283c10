package topology

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ip(s string) netip.Addr    { return netip.MustParseAddr(s) }
func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func req(ref, node, addr string) PodRequest {
	r := PodRequest{Ref: ref, Node: node}
	if addr != "" {
		r.IP = ip(addr)
	}
	return r
}

func TestBuild(t *testing.T) {
	tests := []struct {
		name     string
		minNodes int
		pods     []PodRequest
		want     *Plan
	}{{
		name:     "assigned round-robin in ref order",
		minNodes: 2,
		pods:     []PodRequest{req("b/x", "", ""), req("a/y", "", ""), req("a/x", "", "")},
		want: &Plan{
			Nodes: []Node{
				{Name: "node-1", Index: 0, FabricIP: ip("198.19.255.1"), PodCIDR: pfx("198.18.0.0/24")},
				{Name: "node-2", Index: 1, FabricIP: ip("198.19.255.2"), PodCIDR: pfx("198.18.1.0/24")},
			},
			Pods: []Pod{
				{Ref: "a/x", Node: "node-1", IP: ip("198.18.0.2"), Index: 0},
				{Ref: "a/y", Node: "node-2", IP: ip("198.18.1.2"), Index: 1},
				{Ref: "b/x", Node: "node-1", IP: ip("198.18.0.3"), Index: 2},
			},
		},
	}, {
		name:     "manifest nodes and IPs kept, their /24s skipped, generated nodes fill up",
		minNodes: 3,
		pods:     []PodRequest{req("a/x", "node-a", "198.18.0.7"), req("a/y", "node-a", ""), req("a/z", "", "198.18.2.9")},
		want: &Plan{
			Nodes: []Node{
				{Name: "node-1", Index: 0, FabricIP: ip("198.19.255.1"), PodCIDR: pfx("198.18.1.0/24")},
				{Name: "node-2", Index: 1, FabricIP: ip("198.19.255.2"), PodCIDR: pfx("198.18.3.0/24")},
				{Name: "node-a", Index: 2, FabricIP: ip("198.19.255.3"), PodCIDR: pfx("198.18.4.0/24")},
			},
			Pods: []Pod{
				{Ref: "a/x", Node: "node-a", IP: ip("198.18.0.7"), Index: 0},
				{Ref: "a/y", Node: "node-a", IP: ip("198.18.4.2"), Index: 1},
				{Ref: "a/z", Node: "node-1", IP: ip("198.18.2.9"), Index: 2},
			},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Build(tt.minNodes, tt.pods)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("Build (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	tests := []struct {
		name     string
		minNodes int
		pods     []PodRequest
		want     string
	}{
		{"no nodes", 0, nil, "nodes: want at least 1"},
		{"duplicate pod", 1, []PodRequest{req("a/x", "", ""), req("a/x", "", "")}, "pod a/x: defined twice"},
		{"duplicate IP", 1, []PodRequest{req("a/x", "", "198.18.0.9"), req("a/y", "", "198.18.0.9")}, "pod a/y: status.podIP 198.18.0.9 is also pod a/x's"},
		{"outside the space", 1, []PodRequest{req("a/x", "", "10.0.0.1")}, "pod a/x: status.podIP 10.0.0.1: outside the lab's 198.18.0.0/15"},
		{"fabric address", 1, []PodRequest{req("a/x", "", "198.19.255.1")}, "inside the lab's reserved"},
		{"gateway address", 1, []PodRequest{req("a/x", "", "198.19.254.1")}, "inside the lab's reserved"},
		{"IPv6", 1, []PodRequest{req("a/x", "", "fd00::1")}, "IPv4 only"},
		{"too many nodes", 255, nil, "the fabric has addresses for 254"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.minNodes, tt.pods)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Build error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBuildFillsACIDR(t *testing.T) {
	var pods []PodRequest
	for i := range 254 {
		pods = append(pods, req("a/p"+strings.Repeat("x", i), "n", ""))
	}
	if _, err := Build(1, pods[:253]); err != nil {
		t.Fatalf("253 pods (.2 to .254) should fit a /24: %v", err)
	}
	if _, err := Build(1, pods); err == nil || !strings.Contains(err.Error(), "is full") {
		t.Errorf("254 pods: error = %v, want a full CIDR", err)
	}
}

func TestRoutesFor(t *testing.T) {
	p, err := Build(2, []PodRequest{req("a/x", "node-1", "198.18.7.2"), req("a/y", "node-2", ""), req("a/z", "node-1", "")})
	if err != nil {
		t.Fatal(err)
	}
	want1 := []Route{{Dst: pfx("198.18.1.0/24"), Via: ip("198.19.255.2")}}
	want2 := []Route{
		{Dst: pfx("198.18.0.0/24"), Via: ip("198.19.255.1")},
		{Dst: pfx("198.18.7.2/32"), Via: ip("198.19.255.1")},
	}
	eq := cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })
	eqa := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	if diff := cmp.Diff(want1, p.RoutesFor("node-1"), eq, eqa); diff != "" {
		t.Errorf("node-1 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want2, p.RoutesFor("node-2"), eq, eqa); diff != "" {
		t.Errorf("node-2 (-want +got):\n%s", diff)
	}
}
