package nflog

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePacket(t *testing.T) {
	a4, b4 := "198.18.0.1", "198.18.0.2"
	a6, b6 := "2001:db8::1", "2001:db8::2"
	v4 := func(s string) netip.Addr { return netip.MustParseAddr(s) }
	icmp := func(typ, code uint8) []byte { return []byte{typ, code, 0, 0, 0, 0, 0, 0} }
	frag := func(offset uint16) []byte { // IPv6 fragment header, offset in 8-byte units
		return []byte{0, 0, byte(offset >> 5), byte(offset << 3), 0, 0, 0, 1}
	}
	tests := []struct {
		name    string
		pkt     []byte
		want    Packet
		wantErr string
	}{
		{name: "ipv4 tcp syn", pkt: ipv4(6, a4, b4, tcpSYN(40000, 80)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 6, SrcPort: 40000, DstPort: 80, TCPFlags: 0x02}},
		{name: "ipv4 tcp ports only (cut at copy range)", pkt: ipv4(6, a4, b4, tcpSYN(1, 2))[:24],
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 6, SrcPort: 1, DstPort: 2}},
		{name: "ipv4 udp", pkt: ipv4(17, a4, b4, ports(5353, 53, 4)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 17, SrcPort: 5353, DstPort: 53}},
		{name: "ipv4 sctp", pkt: ipv4(132, a4, b4, ports(9, 3868, 8)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 132, SrcPort: 9, DstPort: 3868}},
		{name: "ipv4 udplite", pkt: ipv4(136, a4, b4, ports(7, 8, 4)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 136, SrcPort: 7, DstPort: 8}},
		{name: "ipv4 icmp echo", pkt: ipv4(1, a4, b4, icmp(8, 0)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 1, HasICMP: true, ICMPType: 8}},
		{name: "ipv4 icmp unreachable code", pkt: ipv4(1, a4, b4, icmp(3, 13)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 1, HasICMP: true, ICMPType: 3, ICMPCode: 13}},
		{name: "ipv4 icmpv6 over ipv4 has no type", pkt: ipv4(58, a4, b4, icmp(128, 0)),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 58}},
		{name: "ipv4 gre: no ports", pkt: ipv4(47, a4, b4, nil),
			want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 47}},
		{name: "ipv4 with options", pkt: func() []byte {
			p := ipv4(17, a4, b4, ports(1, 2, 0))
			p[0] = 0x46 // IHL 6: 4 bytes of options before the UDP header
			p = append(p[:20], append([]byte{1, 1, 1, 0}, p[20:]...)...)
			p[3] += 4
			return p
		}(), want: Packet{Src: v4(a4), Dst: v4(b4), Protocol: 17, SrcPort: 1, DstPort: 2}},
		{name: "ipv4 total length shorter than capture: trailing bytes ignored", pkt: func() []byte {
			p := ipv4(17, a4, b4, ports(1, 2, 0))
			p[3] = 22 // only 2 bytes of UDP claimed
			return append(p, 0, 0)
		}(), wantErr: "ports: 2 bytes"},

		{name: "ipv6 tcp", pkt: ipv6(6, a6, b6, nil, tcpSYN(40000, 443)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 6, SrcPort: 40000, DstPort: 443, TCPFlags: 0x02}},
		{name: "ipv6 icmpv6 echo", pkt: ipv6(58, a6, b6, nil, icmp(128, 0)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 58, HasICMP: true, ICMPType: 128}},
		{name: "ipv6 icmp (v4 type) has no type", pkt: ipv6(1, a6, b6, nil, icmp(8, 0)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 1}},
		{name: "ipv6 hop-by-hop, dest opts, routing then udp",
			pkt:  ipv6(17, a6, b6, []ext{{0, optsHeader(0)}, {60, optsHeader(1)}, {43, optsHeader(0)}}, ports(1000, 53, 4)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 17, SrcPort: 1000, DstPort: 53}},
		{name: "ipv6 first fragment", pkt: ipv6(17, a6, b6, []ext{{44, frag(0)}}, ports(1, 2, 0)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 17, SrcPort: 1, DstPort: 2}},
		{name: "ipv6 AH then tcp", pkt: ipv6(6, a6, b6, []ext{{51, func() []byte { b := make([]byte, 16); b[1] = 2; return b }()}}, tcpSYN(3, 4)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 6, SrcPort: 3, DstPort: 4, TCPFlags: 2}},
		{name: "ipv6 esp: opaque", pkt: ipv6(50, a6, b6, nil, make([]byte, 8)),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 50}},
		{name: "ipv6 no next header", pkt: ipv6(59, a6, b6, nil, nil),
			want: Packet{Src: v4(a6), Dst: v4(b6), Protocol: 59}},

		{name: "empty", pkt: nil, wantErr: "empty"},
		{name: "version 5", pkt: []byte{0x50, 0, 0, 0}, wantErr: "IP version 5"},
		{name: "ipv4 short header", pkt: ipv4(6, a4, b4, nil)[:19], wantErr: "need 20"},
		{name: "ipv4 ihl below 5", pkt: func() []byte { p := ipv4(6, a4, b4, tcpSYN(1, 2)); p[0] = 0x44; return p }(), wantErr: "below 20"},
		{name: "ipv4 ihl beyond capture", pkt: func() []byte { p := ipv4(6, a4, b4, nil); p[0] = 0x4f; return p }(), wantErr: "beyond 20 captured"},
		{name: "ipv4 total length below ihl (lying)", pkt: func() []byte { p := ipv4(6, a4, b4, tcpSYN(1, 2)); p[2], p[3] = 0, 10; return p }(), wantErr: "total length 10"},
		{name: "ipv4 tcp truncated ports", pkt: ipv4(6, a4, b4, tcpSYN(1, 2))[:23], wantErr: "need 4"},
		{name: "ipv4 icmp truncated", pkt: ipv4(1, a4, b4, icmp(8, 0))[:21], wantErr: "ICMP header"},
		{name: "ipv4 non-first fragment", pkt: func() []byte { p := ipv4(17, a4, b4, ports(1, 2, 0)); p[7] = 1; return p }(), wantErr: "non-first fragment"},
		{name: "ipv6 short header", pkt: ipv6(6, a6, b6, nil, nil)[:39], wantErr: "need 40"},
		{name: "ipv6 payload length cuts the ports", pkt: func() []byte {
			p := ipv6(17, a6, b6, nil, ports(1, 2, 0))
			p[4], p[5] = 0, 2
			return p
		}(), wantErr: "need 4"},
		{name: "ipv6 extension header length beyond capture (lying)",
			pkt: func() []byte { p := ipv6(17, a6, b6, []ext{{0, optsHeader(0)}}, ports(1, 2, 0)); p[41] = 200; return p }(), wantErr: "length 1608 beyond"},
		{name: "ipv6 truncated extension header", pkt: ipv6(17, a6, b6, []ext{{60, optsHeader(0)}}, nil)[:44], wantErr: "need 8"},
		{name: "ipv6 too many extension headers", pkt: func() []byte {
			var exts []ext
			for range maxExtHeaders + 1 {
				exts = append(exts, ext{60, optsHeader(0)})
			}
			return ipv6(17, a6, b6, exts, ports(1, 2, 0))
		}(), wantErr: "more than 8"},
		{name: "ipv6 non-first fragment", pkt: ipv6(17, a6, b6, []ext{{44, frag(3)}}, ports(1, 2, 0)), wantErr: "offset 24"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePacket(tc.pkt)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrPacket) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want ErrPacket containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePacket: %v", err)
			}
			if d := cmp.Diff(tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Errorf("packet (-want +got):\n%s", d)
			}
		})
	}
}

func TestPacketFlow(t *testing.T) {
	p, err := ParsePacket(ipv4(1, "198.18.0.1", "198.18.0.2", []byte{8, 0, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	f := p.Flow()
	if f.ICMP == nil || f.ICMP.Type != 8 || f.Protocol != 1 || f.Src != netip.MustParseAddr("198.18.0.1") {
		t.Fatalf("flow = %+v", f)
	}
	p, _ = ParsePacket(ipv4(6, "198.18.0.1", "198.18.0.2", tcpSYN(1, 80)))
	if f := p.Flow(); f.ICMP != nil || f.DstPort != 80 || f.SrcPort != 1 {
		t.Fatalf("tcp flow = %+v", f)
	}
}
