package nflog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// IP protocol numbers the parser reads past the network header.
const (
	protoICMP    = 1
	protoTCP     = 6
	protoUDP     = 17
	protoICMPv6  = 58
	protoSCTP    = 132
	protoUDPLite = 136

	// IPv6 extension headers walked to find the transport header.
	ext6HopByHop = 0
	ext6Routing  = 43
	ext6Fragment = 44
	ext6ESP      = 50
	ext6AH       = 51
	ext6NoNext   = 59
	ext6DestOpts = 60
	ext6Mobility = 135

	// maxExtHeaders bounds the IPv6 extension header chain (RFC 8200 allows each at most twice;
	// more is an attack, not traffic).
	maxExtHeaders = 8
)

// ErrPacket wraps every error of ParsePacket.
var ErrPacket = errors.New("unparseable packet")

// Packet is the header summary of one logged packet: what engine.Flow needs, plus the TCP flags.
type Packet struct {
	Src, Dst         netip.Addr
	Protocol         uint8
	SrcPort, DstPort uint16
	// HasICMP is set for ICMP over IPv4 and ICMPv6 over IPv6, with the type and code.
	HasICMP            bool
	ICMPType, ICMPCode uint8
	// TCPFlags is byte 13 of the TCP header (0x02 SYN) when it was captured.
	TCPFlags uint8
}

// Flow returns the packet as the engine's flow.
func (p *Packet) Flow() engine.Flow {
	f := engine.Flow{Src: p.Src, Dst: p.Dst, Protocol: p.Protocol, SrcPort: p.SrcPort, DstPort: p.DstPort}
	if p.HasICMP {
		f.ICMP = &engine.ICMPMatch{Type: p.ICMPType, Code: p.ICMPCode}
	}
	return f
}

// ParsePacket parses an IPv4 or IPv6 packet starting at its network header, as NFLOG copies it
// (possibly cut at the copy range). The IP header must be whole, and for TCP, UDP, UDPLite and
// SCTP the ports, for ICMP the type and code; the rest of the packet may be missing. A length
// field that points outside the header or below its minimum is an error, as is a non-first
// fragment (it carries no transport header; conntrack reassembles before the log rules, so the
// enforcer never logs one).
func ParsePacket(b []byte) (Packet, error) {
	if len(b) == 0 {
		return Packet{}, fmt.Errorf("%w: empty", ErrPacket)
	}
	switch b[0] >> 4 {
	case 4:
		return parseIPv4(b)
	case 6:
		return parseIPv6(b)
	}
	return Packet{}, fmt.Errorf("%w: IP version %d", ErrPacket, b[0]>>4)
}

func parseIPv4(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 20 {
		return p, fmt.Errorf("%w: IPv4 header: %d bytes, need 20", ErrPacket, len(b))
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 {
		return p, fmt.Errorf("%w: IPv4 header length %d below 20", ErrPacket, ihl)
	}
	if ihl > len(b) {
		return p, fmt.Errorf("%w: IPv4 header length %d beyond %d captured bytes", ErrPacket, ihl, len(b))
	}
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if total < ihl {
		return p, fmt.Errorf("%w: IPv4 total length %d below header length %d", ErrPacket, total, ihl)
	}
	if off := binary.BigEndian.Uint16(b[6:8]) & 0x1fff; off != 0 {
		return p, fmt.Errorf("%w: IPv4 non-first fragment (offset %d)", ErrPacket, off*8)
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Protocol = b[9]
	end := min(total, len(b))
	return p, p.transport(b[ihl:end], false)
}

func parseIPv6(b []byte) (Packet, error) {
	var p Packet
	if len(b) < 40 {
		return p, fmt.Errorf("%w: IPv6 header: %d bytes, need 40", ErrPacket, len(b))
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	// Payload length 0 is a jumbogram (hop-by-hop option); read what was captured.
	if plen := int(binary.BigEndian.Uint16(b[4:6])); plen != 0 && 40+plen < len(b) {
		b = b[:40+plen]
	}
	next := b[6]
	rest := b[40:]
	for i := 0; ; i++ {
		switch next {
		case ext6HopByHop, ext6Routing, ext6DestOpts, ext6Mobility, ext6Fragment, ext6AH:
		case ext6ESP, ext6NoNext:
			// Encrypted or empty: no transport header to read.
			p.Protocol = next
			return p, nil
		default:
			p.Protocol = next
			return p, p.transport(rest, true)
		}
		if i >= maxExtHeaders {
			return p, fmt.Errorf("%w: more than %d IPv6 extension headers", ErrPacket, maxExtHeaders)
		}
		if len(rest) < 8 {
			return p, fmt.Errorf("%w: IPv6 extension header %d: %d bytes, need 8", ErrPacket, next, len(rest))
		}
		var n int
		switch next {
		case ext6Fragment:
			if off := binary.BigEndian.Uint16(rest[2:4]) >> 3; off != 0 {
				return p, fmt.Errorf("%w: IPv6 non-first fragment (offset %d)", ErrPacket, int(off)*8)
			}
			n = 8
		case ext6AH:
			n = (int(rest[1]) + 2) * 4
		default:
			n = (int(rest[1]) + 1) * 8
		}
		if n > len(rest) {
			return p, fmt.Errorf("%w: IPv6 extension header %d: length %d beyond %d bytes", ErrPacket, next, n, len(rest))
		}
		next = rest[0]
		rest = rest[n:]
	}
}

// transport reads the ports or ICMP type and code of b, the bytes after the IP headers.
func (p *Packet) transport(b []byte, v6 bool) error {
	switch p.Protocol {
	case protoTCP, protoUDP, protoUDPLite, protoSCTP:
		if len(b) < 4 {
			return fmt.Errorf("%w: protocol %d ports: %d bytes, need 4", ErrPacket, p.Protocol, len(b))
		}
		p.SrcPort = binary.BigEndian.Uint16(b[0:2])
		p.DstPort = binary.BigEndian.Uint16(b[2:4])
		if p.Protocol == protoTCP && len(b) >= 14 {
			p.TCPFlags = b[13]
		}
	case protoICMP, protoICMPv6:
		// ICMP over IPv6 or ICMPv6 over IPv4 is a protocol the engine matches without type/code.
		if (p.Protocol == protoICMPv6) != v6 {
			return nil
		}
		if len(b) < 2 {
			return fmt.Errorf("%w: ICMP header: %d bytes, need 2", ErrPacket, len(b))
		}
		p.HasICMP = true
		p.ICMPType, p.ICMPCode = b[0], b[1]
	}
	return nil
}
