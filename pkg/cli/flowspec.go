package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// portSpec is a destination port and protocol as written on the command
// line: "80/TCP", "53/udp", or "443" (TCP).
type portSpec struct {
	Port     uint16
	Protocol string // canonical: TCP, UDP or SCTP
}

func (p portSpec) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// portProtocols are the protocols --port and --ports accept, by canonical name.
var portProtocols = map[string]uint8{"TCP": engine.ProtoTCP, "UDP": engine.ProtoUDP, "SCTP": engine.ProtoSCTP}

// parsePort reads PORT[/PROTO]; the protocol is case-insensitive and
// defaults to TCP, as in Kubernetes NetworkPolicy.
func parsePort(s string) (portSpec, error) {
	num, proto, hasProto := strings.Cut(strings.TrimSpace(s), "/")
	p := portSpec{Protocol: "TCP"}
	if hasProto {
		p.Protocol = strings.ToUpper(proto)
		if _, ok := portProtocols[p.Protocol]; !ok {
			return portSpec{}, fmt.Errorf("parsing port %q: protocol %q is not one of TCP, UDP, SCTP", s, proto)
		}
	}
	n, err := strconv.ParseUint(num, 10, 16)
	if err != nil || n == 0 {
		return portSpec{}, fmt.Errorf("parsing port %q: want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP", s)
	}
	p.Port = uint16(n)
	return p, nil
}

// parsePorts reads a comma-separated list of ports, dropping duplicates and
// keeping the first-seen order.
func parsePorts(s string) ([]portSpec, error) {
	var out []portSpec
	seen := map[portSpec]bool{}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			return nil, fmt.Errorf("parsing ports %q: empty entry (want a list like 80/TCP,53/UDP)", s)
		}
		p, err := parsePort(item)
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// icmpSpec is --icmp TYPE[/CODE].
type icmpSpec struct {
	Type, Code uint8
}

func parseICMP(s string) (icmpSpec, error) {
	typ, code, hasCode := strings.Cut(strings.TrimSpace(s), "/")
	t, err := strconv.ParseUint(typ, 10, 8)
	if err != nil {
		return icmpSpec{}, fmt.Errorf("parsing icmp %q: want TYPE[/CODE] with numbers in 0-255, like 8/0", s)
	}
	out := icmpSpec{Type: uint8(t)}
	if hasCode {
		c, err := strconv.ParseUint(code, 10, 8)
		if err != nil {
			return icmpSpec{}, fmt.Errorf("parsing icmp %q: want TYPE[/CODE] with numbers in 0-255, like 8/0", s)
		}
		out.Code = uint8(c)
	}
	return out, nil
}

// endpointArg is --from or --to resolved: a pod of the model, or a bare IP.
type endpointArg struct {
	Pod *podInfo // nil for a bare IP
	IP  netip.Addr
}

func (e endpointArg) String() string {
	if e.Pod == nil {
		return e.IP.String()
	}
	return fmt.Sprintf("%s (%s)", refText(e.Pod.Ref), e.IP)
}
