package topology

import (
	"encoding/binary"
	"net/netip"
)

// offset returns a + n for IPv4 addresses; net/netip only steps by one.
func offset(a netip.Addr, n int) netip.Addr {
	b := a.As4()
	v := binary.BigEndian.Uint32(b[:]) + uint32(n)
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
