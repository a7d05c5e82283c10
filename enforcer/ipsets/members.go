package ipsets

import (
	"net/netip"
	"strings"
)

// protoNames are how ipset save prints the protocols a hash:ip,port member may name by number.
var protoNames = map[string]string{"6": "tcp", "17": "udp", "132": "sctp", "1": "icmp", "58": "icmpv6"}

// canonical writes a member as `ipset save` prints it, so that the desired members and the kernel's
// compare as strings: a member written two ways must never be deleted and re-added at every sync.
// Members it cannot parse are kept as written (the kernel will reject or normalise them; the next
// resync then shows the difference).
func canonical(typ, m string) string {
	switch typ {
	case "hash:ip":
		if a, err := netip.ParseAddr(m); err == nil {
			return a.String()
		}
	case "hash:net":
		if p, err := netip.ParsePrefix(m); err == nil {
			if p.Bits() == p.Addr().BitLen() {
				return p.Addr().String()
			}
			return p.Masked().String()
		}
		if a, err := netip.ParseAddr(m); err == nil {
			return a.String()
		}
	case "hash:ip,port":
		ip, port, ok := strings.Cut(m, ",")
		if !ok {
			return m
		}
		if a, err := netip.ParseAddr(ip); err == nil {
			ip = a.String()
		}
		proto, num, ok := strings.Cut(port, ":")
		if !ok {
			proto, num = "tcp", port
		}
		proto = strings.ToLower(proto)
		if name, ok := protoNames[proto]; ok {
			proto = name
		}
		return ip + "," + proto + ":" + num
	}
	return m
}
