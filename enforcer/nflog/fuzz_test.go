package nflog

import (
	"testing"
)

func FuzzParsePacket(f *testing.F) {
	f.Add(ipv4(6, "198.18.0.1", "198.18.0.2", tcpSYN(1, 80)))
	f.Add(ipv4(1, "198.18.0.1", "198.18.0.2", []byte{8, 0, 0, 0}))
	f.Add(ipv6(17, "2001:db8::1", "2001:db8::2", []ext{{0, optsHeader(0)}, {44, make([]byte, 8)}}, ports(1, 2, 0)))
	f.Add(ipv6(58, "2001:db8::1", "2001:db8::2", nil, []byte{128, 0}))
	f.Add([]byte{0x4f})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePacket(b)
		if err != nil {
			return
		}
		// A parsed packet has addresses of its version and ICMP only with an ICMP protocol.
		if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
			t.Fatalf("addresses %v %v", p.Src, p.Dst)
		}
		if p.HasICMP && p.Protocol != 1 && p.Protocol != 58 {
			t.Fatalf("ICMP fields on protocol %d", p.Protocol)
		}
		_ = p.Flow()
	})
}

func FuzzParseAttributes(f *testing.F) {
	f.Add(cat(nfgen(2, 7), nla(attrPrefix, []byte("p\x00")), nla(attrPayload, ipv4(17, "198.18.0.1", "198.18.0.2", ports(1, 2, 0)))))
	f.Add(cat(nfgen(2, 7), nla(attrTimestamp, make([]byte, 16)), nla(attrSeq, be32(1))))
	f.Add([]byte{2, 0, 0, 1, 255, 255, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAttributes(b)
		if err != nil {
			return
		}
		if len(a.Prefix) > maxPrefixLen || len(a.Payload) > len(b) {
			t.Fatalf("attributes exceed the message: prefix %d payload %d message %d", len(a.Prefix), len(a.Payload), len(b))
		}
		_, _ = ParsePacket(a.Payload)
	})
}
