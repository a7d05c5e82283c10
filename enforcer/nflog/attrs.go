package nflog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// NFULA attribute types (linux/netfilter/nfnetlink_log.h).
const (
	attrPacketHdr = 1  // struct nfulnl_msg_packet_hdr: be16 hw_protocol, u8 hook, u8 pad
	attrMark      = 2  // be32
	attrTimestamp = 3  // struct nfulnl_msg_packet_timestamp: be64 sec, be64 usec
	attrInDev     = 4  // be32 ifindex
	attrOutDev    = 5  // be32 ifindex
	attrPayload   = 9  // the copied packet, starting at the network header
	attrPrefix    = 10 // NUL-terminated string
	attrSeq       = 12 // be32 per-instance sequence number (NFULNL_CFG_F_SEQ)

	// nlaTypeMask strips NLA_F_NESTED and NLA_F_NET_BYTEORDER.
	nlaTypeMask = 0x3fff
	nlaHdrLen   = 4
	nfgenLen    = 4 // struct nfgenmsg: u8 family, u8 version, be16 res_id
	// maxPrefixLen bounds a prefix (the kernel's own limit is 64 bytes including the NUL).
	maxPrefixLen = 128
)

// ErrMalformed wraps every error of ParseAttributes.
var ErrMalformed = errors.New("malformed NFLOG message")

// Attributes are the parts of one NFULNL_MSG_PACKET message the observer uses. Payload aliases
// the message buffer.
type Attributes struct {
	// Family is the nfgenmsg family (AF_INET, AF_INET6, ...) and Group the NFLOG group (res_id).
	Family uint8
	Group  uint16
	// HWProtocol is the packet's ethertype (0x0800 IPv4, 0x86dd IPv6); 0 when absent. Hook is the
	// netfilter hook number.
	HWProtocol uint16
	Hook       uint8
	HasHeader  bool
	Mark       uint32
	// InDev and OutDev are interface indices; 0 when absent.
	InDev, OutDev uint32
	// Timestamp is the packet's kernel timestamp when the kernel supplied one (zero otherwise).
	Timestamp time.Time
	Prefix    string
	// Seq is the per-group sequence number when HasSeq (the reader asks for it to count drops).
	Seq    uint32
	HasSeq bool
	// Payload is the copied packet from its network header, at most the configured copy range.
	Payload []byte
}

// ParseAttributes parses the body of one NFULNL_MSG_PACKET message (the nfgenmsg header and the
// attributes after it). Every length is checked against the buffer; a length that lies is an
// error naming the attribute, never a panic or an out-of-bounds read. Unknown attributes are
// skipped.
func ParseAttributes(b []byte) (Attributes, error) {
	var a Attributes
	if len(b) < nfgenLen {
		return a, fmt.Errorf("%w: nfgenmsg header: %d bytes, need %d", ErrMalformed, len(b), nfgenLen)
	}
	a.Family = b[0]
	a.Group = binary.BigEndian.Uint16(b[2:4])
	b = b[nfgenLen:]
	for len(b) > 0 {
		if len(b) < nlaHdrLen {
			return a, fmt.Errorf("%w: attribute header: %d trailing bytes", ErrMalformed, len(b))
		}
		// Netlink attribute headers are in host byte order.
		l := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & nlaTypeMask
		if l < nlaHdrLen || l > len(b) {
			return a, fmt.Errorf("%w: attribute %d: length %d with %d bytes left", ErrMalformed, typ, l, len(b))
		}
		v := b[nlaHdrLen:l]
		if err := a.set(typ, v); err != nil {
			return a, err
		}
		next := (l + 3) &^ 3
		if next > len(b) {
			next = len(b)
		}
		b = b[next:]
	}
	return a, nil
}

func (a *Attributes) set(typ uint16, v []byte) error {
	need := func(n int) error {
		if len(v) < n {
			return fmt.Errorf("%w: attribute %d: %d bytes, need %d", ErrMalformed, typ, len(v), n)
		}
		return nil
	}
	switch typ {
	case attrPacketHdr:
		if err := need(3); err != nil {
			return err
		}
		a.HWProtocol = binary.BigEndian.Uint16(v[0:2])
		a.Hook = v[2]
		a.HasHeader = true
	case attrMark:
		if err := need(4); err != nil {
			return err
		}
		a.Mark = binary.BigEndian.Uint32(v)
	case attrTimestamp:
		if err := need(16); err != nil {
			return err
		}
		sec := binary.BigEndian.Uint64(v[0:8])
		usec := binary.BigEndian.Uint64(v[8:16])
		// Out-of-range values would overflow time.Unix; such a timestamp is ignored.
		if sec <= 1<<40 && usec < 1_000_000 {
			a.Timestamp = time.Unix(int64(sec), int64(usec)*1000).UTC()
		}
	case attrInDev:
		if err := need(4); err != nil {
			return err
		}
		a.InDev = binary.BigEndian.Uint32(v)
	case attrOutDev:
		if err := need(4); err != nil {
			return err
		}
		a.OutDev = binary.BigEndian.Uint32(v)
	case attrPayload:
		a.Payload = v
	case attrPrefix:
		s := v
		for i, c := range s {
			if c == 0 {
				s = s[:i]
				break
			}
		}
		if len(s) > maxPrefixLen {
			return fmt.Errorf("%w: prefix: %d bytes, at most %d", ErrMalformed, len(s), maxPrefixLen)
		}
		a.Prefix = string(s)
	case attrSeq:
		if err := need(4); err != nil {
			return err
		}
		a.Seq = binary.BigEndian.Uint32(v)
		a.HasSeq = true
	}
	return nil
}
