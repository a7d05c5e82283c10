package knp

import (
	"cmp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// protocolPorts is the ports of one protocol in a Kubernetes rule.
type protocolPorts struct {
	// protocol is TCP, UDP or SCTP, or "" for a rule without ports (no protocol restriction).
	protocol string
	ranges   []v1alpha1.PortRange
	// all is set when an entry of this protocol has no port: every port of the protocol, which
	// wins over the protocol's specific ports.
	all bool
}

// ports groups a rule's ports by protocol, sorted by protocol. A rule without ports has one
// group with no protocol and no ports. It reports whether every entry translated.
func (t *translator) ports(in []networkingv1.NetworkPolicyPort, p *field.Path) ([]protocolPorts, bool) {
	if len(in) == 0 {
		return []protocolPorts{{all: true}}, true
	}
	byProtocol := map[string]*protocolPorts{}
	ok := true
	for i := range in {
		ep := p.Index(i)
		protocol, protocolOK := t.protocol(in[i].Protocol, ep.Child("protocol"))
		r, all, portOK := t.port(&in[i], ep)
		if !protocolOK || !portOK {
			ok = false
			continue
		}
		g := byProtocol[protocol]
		if g == nil {
			g = &protocolPorts{protocol: protocol}
			byProtocol[protocol] = g
		}
		switch {
		case all:
			g.all, g.ranges = true, nil
		case !g.all:
			g.ranges = append(g.ranges, r)
		}
	}
	out := make([]protocolPorts, 0, len(byProtocol))
	for _, g := range byProtocol {
		out = append(out, *g)
	}
	slices.SortFunc(out, func(a, b protocolPorts) int { return strings.Compare(a.protocol, b.protocol) })
	return out, ok
}

// protocol reads a port entry's protocol: TCP when unset (the API server's default), else one of
// the three Kubernetes allows. Calico would pass anything through (ICMP, "tcp"), which the API
// server never lets in.
func (t *translator) protocol(pr *corev1.Protocol, p *field.Path) (string, bool) {
	if pr == nil {
		return string(corev1.ProtocolTCP), true
	}
	switch *pr {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
		return string(*pr), true
	}
	t.errorf(p, "unsupported value %q: must be TCP, UDP or SCTP", *pr)
	return "", false
}

// port reads one port entry: a number, a range port:endPort, or a named port; all when the entry
// has no port. Calico writes the port as a string and re-parses it, so that the string "80"
// would become port 80 and "80:90" a range; here a string port must be a valid port name, as the
// API server requires.
func (t *translator) port(in *networkingv1.NetworkPolicyPort, p *field.Path) (r v1alpha1.PortRange, all, ok bool) {
	if in.Port == nil {
		if in.EndPort != nil {
			t.errorf(p.Child("endPort"), "requires port to be set")
			return r, false, false
		}
		return r, true, true
	}
	if in.Port.Type == intstr.String {
		name := in.Port.StrVal
		ok = true
		if msgs := utilvalidation.IsValidPortName(name); len(msgs) > 0 {
			t.errorf(p.Child("port"), "invalid port name %q: %s", name, strings.Join(msgs, "; "))
			ok = false
		}
		if in.EndPort != nil {
			t.errorf(p.Child("endPort"), "requires a numeric port, not the named port %q", name)
			ok = false
		}
		return v1alpha1.PortRange{Name: name}, false, ok
	}
	n := in.Port.IntVal
	if n < 1 || n > 65535 {
		t.errorf(p.Child("port"), "invalid value %d: must be between 1 and 65535", n)
		return r, false, false
	}
	r = v1alpha1.PortRange{Min: uint16(n), Max: uint16(n)}
	if in.EndPort != nil {
		end := *in.EndPort
		if end < n || end > 65535 {
			t.errorf(p.Child("endPort"), "invalid value %d: must be between port (%d) and 65535", end, n)
			return r, false, false
		}
		r.Max = uint16(end) //nolint:gosec // end is within [n, 65535], checked above
	}
	return r, false, true
}

// simplifyPorts merges numeric ports and ranges into the fewest ranges, as Calico's SimplifyPorts:
// named ports first in written order, then the merged ranges in ascending order. When the
// numeric entries cover at most one port number the list is kept as written, as Calico's does.
func simplifyPorts(ports []v1alpha1.PortRange) []v1alpha1.PortRange {
	var named, numeric []v1alpha1.PortRange
	covered := 0
	for _, r := range ports {
		if r.IsNamed() {
			named = append(named, r)
		} else {
			numeric = append(numeric, r)
			covered += int(r.Max) - int(r.Min) + 1
		}
	}
	if covered <= 1 {
		return ports
	}
	slices.SortFunc(numeric, func(a, b v1alpha1.PortRange) int {
		return cmp.Or(cmp.Compare(a.Min, b.Min), cmp.Compare(a.Max, b.Max))
	})
	merged := []v1alpha1.PortRange{numeric[0]}
	for _, r := range numeric[1:] {
		last := &merged[len(merged)-1]
		if int(r.Min) <= int(last.Max)+1 {
			last.Max = max(last.Max, r.Max)
			continue
		}
		merged = append(merged, r)
	}
	return append(named, merged...)
}

// portOf writes a range as Calico's numorstring marshals it: a number for a single port, the
// string "min:max" for a range, the name for a named port.
func portOf(r v1alpha1.PortRange) v1alpha1.Port {
	if !r.IsNamed() && r.Min == r.Max {
		return v1alpha1.PortFromInt(int(r.Min))
	}
	return v1alpha1.PortFromString(r.String())
}
