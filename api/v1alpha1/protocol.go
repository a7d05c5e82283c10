package v1alpha1

import (
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// Protocol is an IP protocol written as a name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite) or a number
// 1-255, as in Calico's numorstring.Protocol. A string that parses as a number is a number; any other
// string is kept verbatim (names are case-sensitive in v3, validation enforces that).
//
// +kubebuilder:validation:XIntOrString
type Protocol intstr.IntOrString

// Canonical protocol names.
const (
	ProtocolTCP     = "TCP"
	ProtocolUDP     = "UDP"
	ProtocolICMP    = "ICMP"
	ProtocolICMPv6  = "ICMPv6"
	ProtocolSCTP    = "SCTP"
	ProtocolUDPLite = "UDPLite"
)

// protocolNumbers maps the canonical names to IANA protocol numbers.
var protocolNumbers = map[string]uint8{
	ProtocolTCP:     6,
	ProtocolUDP:     17,
	ProtocolICMP:    1,
	ProtocolICMPv6:  58,
	ProtocolSCTP:    132,
	ProtocolUDPLite: 136,
}

// ProtocolFromString returns the Protocol for a name or a decimal number written as a string.
func ProtocolFromString(s string) Protocol {
	if n, err := strconv.ParseUint(s, 10, 8); err == nil {
		return Protocol(intstr.FromInt32(int32(n)))
	}
	return Protocol(intstr.FromString(s))
}

// ProtocolFromInt returns the Protocol for a number; a number beyond int32 saturates (see PortFromInt).
func ProtocolFromInt(n int) Protocol { return Protocol(intstr.FromInt32(saturateInt32(n))) }

// Number resolves the protocol to its IANA number. It fails for an unknown name, a name in the wrong
// case, and numbers outside 1-255.
func (p Protocol) Number() (uint8, error) {
	if p.Type == intstr.Int {
		if p.IntVal < 1 || p.IntVal > 255 {
			return 0, fmt.Errorf("protocol number %d is outside 1-255", p.IntVal)
		}
		return uint8(p.IntVal), nil
	}
	if n, err := strconv.ParseUint(p.StrVal, 10, 8); err == nil {
		if n == 0 {
			return 0, fmt.Errorf("protocol number 0 is outside 1-255")
		}
		return uint8(n), nil
	}
	if n, ok := protocolNumbers[p.StrVal]; ok {
		return n, nil
	}
	return 0, fmt.Errorf("protocol name %q is not one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite", p.StrVal)
}

// SupportsPorts reports whether rules with this protocol may match ports: only TCP, UDP and SCTP
// (by name or number). UDPLite does not, as in Calico.
func (p Protocol) SupportsPorts() bool {
	n, err := p.Number()
	if err != nil {
		return false
	}
	return n == 6 || n == 17 || n == 132
}

// String renders the protocol as written.
func (p Protocol) String() string { return (*intstr.IntOrString)(&p).String() }

// MarshalJSON writes the protocol as it was written: a number or a string.
func (p Protocol) MarshalJSON() ([]byte, error) { return intstr.IntOrString(p).MarshalJSON() }

// UnmarshalJSON accepts a JSON number or string; a string holding a number 0-255 becomes a number.
func (p *Protocol) UnmarshalJSON(b []byte) error {
	var v intstr.IntOrString
	if err := v.UnmarshalJSON(b); err != nil {
		return fmt.Errorf("protocol must be a number or a string: %w", err)
	}
	if v.Type == intstr.String {
		if n, err := strconv.ParseUint(v.StrVal, 10, 8); err == nil {
			v = intstr.FromInt32(int32(n))
		}
	}
	*p = Protocol(v)
	return nil
}
