package nflog

import (
	"encoding/binary"
	"net/netip"
)

// Hand-built packets and messages for the parser tests.

func ipv4(proto uint8, src, dst string, l4 []byte) []byte {
	b := make([]byte, 20, 20+len(l4))
	b[0] = 0x45
	binary.BigEndian.PutUint16(b[2:4], uint16(20+len(l4)))
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:16], s[:])
	copy(b[16:20], d[:])
	return append(b, l4...)
}

// ext is one IPv6 extension header: its type and its bytes (next header filled in by ipv6).
type ext struct {
	typ  uint8
	body []byte
}

func ipv6(proto uint8, src, dst string, exts []ext, l4 []byte) []byte {
	b := make([]byte, 40)
	b[0] = 0x60
	next := proto
	if len(exts) > 0 {
		next = exts[0].typ
	}
	b[6] = next
	b[7] = 64
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	for i, e := range exts {
		h := append([]byte(nil), e.body...)
		if i+1 < len(exts) {
			h[0] = exts[i+1].typ
		} else {
			h[0] = proto
		}
		b = append(b, h...)
	}
	b = append(b, l4...)
	binary.BigEndian.PutUint16(b[4:6], uint16(len(b)-40))
	return b
}

func ports(src, dst uint16, extra int) []byte {
	b := binary.BigEndian.AppendUint16(nil, src)
	b = binary.BigEndian.AppendUint16(b, dst)
	return append(b, make([]byte, extra)...)
}

func tcpSYN(src, dst uint16) []byte {
	b := ports(src, dst, 16)
	b[12] = 5 << 4
	b[13] = 0x02
	return b
}

// optsHeader is a hop-by-hop / destination-options / routing header of 8*(n+1) bytes.
func optsHeader(n int) []byte {
	b := make([]byte, 8*(n+1))
	b[1] = byte(n)
	return b
}

func nla(typ uint16, v []byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, uint16(4+len(v)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func nfgen(family uint8, group uint16) []byte {
	return binary.BigEndian.AppendUint16([]byte{family, 0}, group)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}
