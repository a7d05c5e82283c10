package engine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// linearContains is the BASELINE the prefix set replaced: every prefix checked in turn.
func linearContains(nets []netip.Prefix, ip netip.Addr) bool {
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s).Masked())
	}
	return out
}

// TestPrefixSet pins containment at the edges of ranges, merges of overlapping and adjacent
// prefixes, the catch-all prefixes and the top of the address space.
func TestPrefixSet(t *testing.T) {
	tests := []struct {
		name   string
		nets   []netip.Prefix
		ranges int
		in     []string
		out    []string
	}{
		{"empty", nil, 0, nil, []string{"0.0.0.0", "10.0.0.1", "::", "fd00::1"}},
		{"one host", prefixes("10.0.0.1/32"), 1, []string{"10.0.0.1"}, []string{"10.0.0.0", "10.0.0.2"}},
		{"one network, both ends", prefixes("10.1.0.0/16"), 1, []string{"10.1.0.0", "10.1.255.255", "10.1.7.7"}, []string{"10.0.255.255", "10.2.0.0"}},
		{"nested prefixes merge", prefixes("10.0.0.0/8", "10.1.0.0/16", "10.1.2.3/32"), 1, []string{"10.255.255.255", "10.1.2.3"}, []string{"11.0.0.0", "9.255.255.255"}},
		{"adjacent prefixes merge", prefixes("10.0.0.0/25", "10.0.0.128/25"), 1, []string{"10.0.0.127", "10.0.0.128", "10.0.0.255"}, []string{"10.0.1.0"}},
		{"gaps stay gaps", prefixes("10.0.0.0/24", "10.0.2.0/24", "192.168.0.0/16"), 3, []string{"10.0.0.0", "10.0.2.255", "192.168.255.255"}, []string{"10.0.1.0", "10.0.1.255", "10.0.3.0", "172.16.0.1", "192.169.0.0"}},
		{"unsorted input", prefixes("192.168.0.0/16", "10.0.0.0/8", "172.16.0.0/12"), 3, []string{"172.31.255.255", "10.0.0.0"}, []string{"172.32.0.0", "11.0.0.0"}},
		{"IPv4 catch-all", prefixes("0.0.0.0/0"), 1, []string{"0.0.0.0", "255.255.255.255", "10.0.0.1"}, nil},
		{"top of IPv4", prefixes("255.255.255.255/32", "255.255.255.0/24"), 1, []string{"255.255.255.255", "255.255.255.0"}, []string{"255.255.254.255"}},
		{"IPv6 host and network", prefixes("fd00::1/128", "2001:db8::/32"), 2, []string{"fd00::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db8::"}, []string{"fd00::2", "2001:db9::", "fd00::"}},
		{"IPv6 /64 boundary", prefixes("fd00:0:0:1::/64"), 1, []string{"fd00:0:0:1::", "fd00:0:0:1:ffff:ffff:ffff:ffff"}, []string{"fd00:0:0:2::", "fd00::ffff:ffff:ffff:ffff"}},
		{"IPv6 /63 and /65", prefixes("fd00::/63", "fd00:0:0:2::/65"), 1, []string{"fd00:0:0:1:ffff:ffff:ffff:ffff", "fd00:0:0:2:7fff:ffff:ffff:ffff"}, []string{"fd00:0:0:2:8000::"}},
		{"IPv6 catch-all and top", prefixes("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128"), 1, []string{"::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fd00::1"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newPrefixSet(tc.nets)
			if len(s.ranges) != tc.ranges {
				t.Errorf("%d ranges, want %d", len(s.ranges), tc.ranges)
			}
			for _, a := range tc.in {
				if !s.contains(netip.MustParseAddr(a)) || !s.inRanges(netip.MustParseAddr(a)) {
					t.Errorf("%s not contained", a)
				}
			}
			for _, a := range tc.out {
				if s.contains(netip.MustParseAddr(a)) || s.inRanges(netip.MustParseAddr(a)) {
					t.Errorf("%s contained", a)
				}
			}
		})
	}
}

// TestPrefixSetAgreesWithLinearScan compares the set with the linear scan on random prefixes
// clustered in a small space (so that they overlap and touch) and addresses around them.
func TestPrefixSetAgreesWithLinearScan(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		v6 := round%2 == 1
		n := 1 + r.IntN(40)
		nets := make([]netip.Prefix, 0, n)
		randAddr := func() netip.Addr {
			if v6 {
				var b [16]byte
				b[0], b[1] = 0xfd, 0
				b[7], b[8], b[15] = byte(r.IntN(4)), byte(r.IntN(256)), byte(r.IntN(256))
				return netip.AddrFrom16(b)
			}
			return netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(4)), byte(r.IntN(256))})
		}
		for range n {
			a := randAddr()
			bits := a.BitLen() - r.IntN(12)
			if v6 && r.IntN(3) == 0 {
				bits = 56 + r.IntN(16) // around the 64-bit boundary of the 128-bit number
			}
			nets = append(nets, netip.PrefixFrom(a, bits).Masked())
		}
		s := newPrefixSet(nets)
		for range 200 {
			a := randAddr()
			want := linearContains(nets, a)
			if got := s.contains(a); got != want {
				t.Fatalf("round %d: %s in %v: set says %v, scan %v", round, a, nets, got, want)
			}
			if got := s.inRanges(a); got != want {
				t.Fatalf("round %d: %s in %v: ranges say %v, scan %v", round, a, nets, got, want)
			}
		}
	}
}

// TestLargeNetsListEvaluates: a rule with thousands of nets decides by the prefix set.
func TestLargeNetsListEvaluates(t *testing.T) {
	var nets []string
	for i := range 4096 {
		nets = append(nets, fmt.Sprintf("172.%d.%d.0/24", 16+i/256, i%256))
	}
	e := New()
	apply(t, e, baseCluster()...)
	apply(t, e, np("prod", "p", onWeb, ingress(rl(Allow, src(eNets(append(nets, ipClient+"/32")...))))))
	if v, _ := e.Evaluate(tcp(ipClient, ipWeb, 80), EnforcedOnly); !v.Allowed {
		t.Errorf("client in the list is denied")
	}
	if v, _ := e.Evaluate(tcp(ipMon, ipWeb, 80), EnforcedOnly); v.Allowed {
		t.Errorf("mon outside the list is allowed")
	}
}

var benchPrefixSink bool

// BenchmarkNetsMatch compares the prefix set with the linear scan (BASELINE) for nets lists of 1
// to 4,096 IPv4 /24s, looking up addresses half inside, half outside.
func BenchmarkNetsMatch(b *testing.B) {
	for _, n := range []int{1, 16, 256, 4096} {
		nets := make([]netip.Prefix, 0, n)
		for i := range n {
			nets = append(nets, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 7), byte(i<<1) & 0xff, 0}), 24))
		}
		addrs := make([]netip.Addr, 1024)
		r := rand.New(rand.NewPCG(1, 1))
		for i := range addrs {
			j := r.IntN(n)
			addrs[i] = netip.AddrFrom4([4]byte{10, byte(j >> 7), byte(j<<1)&0xff | byte(i&1), byte(r.IntN(256))})
		}
		s := newPrefixSet(nets)
		b.Run(fmt.Sprintf("nets=%d/prefix-set", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				benchPrefixSink = s.contains(addrs[i%len(addrs)])
			}
		})
		b.Run(fmt.Sprintf("nets=%d/linear", n), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				benchPrefixSink = linearContains(nets, addrs[i%len(addrs)])
			}
		})
	}
}
