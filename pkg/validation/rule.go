package validation

import (
	"strings"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// direction is the rule list a rule belongs to; a few checks (S8, S9) depend on it.
type direction int

const (
	ingress direction = iota
	egress
)

var supportedActions = []string{string(v1alpha1.Allow), string(v1alpha1.Deny), string(v1alpha1.Log), string(v1alpha1.Pass)}

const (
	protocolChoices = "use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255"
	httpMsg         = "L7 (http) rules are not supported by the iptables dataplane, and ignoring them would widen an Allow: remove http"
)

// IANA protocol numbers the rule checks refer to.
const (
	protoICMP   = 1
	protoICMPv6 = 58
)

// rule checks one rule (R1-R10, the http decision and the rule metadata of N6).
func (c *checker) rule(r *v1alpha1.Rule, dir direction, p *field.Path) {
	c.action(r.Action, p.Child("action"))
	if r.IPVersion != nil && *r.IPVersion != 4 && *r.IPVersion != 6 {
		c.add(field.NotSupported(p.Child("ipVersion"), *r.IPVersion, []string{"4", "6"}))
	}
	proto, protoOK := c.protocol(r.Protocol, p.Child("protocol"))
	c.icmp(r.ICMP, p.Child("icmp"))
	// R6: icmp needs an ICMP protocol. An invalid protocol already has its own error.
	if r.ICMP != nil && (r.Protocol == nil || protoOK) && proto != protoICMP && proto != protoICMPv6 {
		c.add(field.Forbidden(p.Child("icmp"), "ICMP fields require protocol to be ICMP or ICMPv6"))
	}
	notProto, notProtoOK := c.protocol(r.NotProtocol, p.Child("notProtocol"))
	c.icmp(r.NotICMP, p.Child("notICMP"))
	if r.IPVersion != nil {
		if protoOK {
			c.protocolVersion("protocol", r.Protocol, proto, *r.IPVersion, p.Child("protocol"))
		}
		if notProtoOK {
			c.protocolVersion("notProtocol", r.NotProtocol, notProto, *r.IPVersion, p.Child("notProtocol"))
		}
	}
	c.entity(&r.Source, dir, source, p.Child("source"))
	c.entity(&r.Destination, dir, destination, p.Child("destination"))
	c.portsNeedProtocol(r, proto, protoOK, p.Child("protocol"))
	c.netFamilies(r, p)
	if r.HTTP != nil {
		c.add(field.Forbidden(p.Child("http"), httpMsg))
	}
	if r.Metadata != nil {
		c.add(apivalidation.ValidateAnnotations(r.Metadata.Annotations, p.Child("metadata", "annotations"))...)
	}
}

// action checks R1. Calico's enum is case-sensitive, so "allow" is rejected with the list of values.
func (c *checker) action(a v1alpha1.Action, p *field.Path) {
	switch a {
	case v1alpha1.Allow, v1alpha1.Deny, v1alpha1.Log, v1alpha1.Pass:
	case "":
		c.add(field.Required(p, "must be one of Allow, Deny, Log, Pass"))
	default:
		c.add(field.NotSupported(p, a, supportedActions))
	}
}

// protocol checks R3 and returns the protocol's number, and whether it was set and valid.
func (c *checker) protocol(pr *v1alpha1.Protocol, p *field.Path) (uint8, bool) {
	if pr == nil {
		return 0, false
	}
	n, err := pr.Number()
	if err == nil {
		return n, true
	}
	if pr.Type == intstr.Int {
		c.add(field.Invalid(p, pr.IntVal, "protocol numbers must be 1-255, or "+protocolChoices))
		return 0, false
	}
	s := pr.StrVal
	switch {
	case isDecimal(s):
		c.add(field.Invalid(p, s, "protocol numbers must be 1-255, or "+protocolChoices))
	case canonicalProtocol(s) != "":
		c.add(field.Invalid(p, s, "protocol names are case-sensitive: "+protocolChoices))
	default:
		c.add(field.Invalid(p, s, "unknown protocol: "+protocolChoices))
	}
	return 0, false
}

// canonicalProtocol returns the canonical spelling of a protocol name written in any case, or "".
func canonicalProtocol(s string) string {
	for _, name := range []string{v1alpha1.ProtocolTCP, v1alpha1.ProtocolUDP, v1alpha1.ProtocolICMP,
		v1alpha1.ProtocolICMPv6, v1alpha1.ProtocolSCTP, v1alpha1.ProtocolUDPLite} {
		if strings.EqualFold(s, name) {
			return name
		}
	}
	return ""
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// icmp checks the ranges of an icmp or notICMP block and that a code comes with a type (R6).
func (c *checker) icmp(f *v1alpha1.ICMPFields, p *field.Path) {
	if f == nil {
		return
	}
	if f.Type != nil && (*f.Type < 0 || *f.Type > 254) {
		c.add(field.Invalid(p.Child("type"), *f.Type, "ICMP type must be between 0 and 254"))
	}
	if f.Code != nil {
		if *f.Code < 0 || *f.Code > 255 {
			c.add(field.Invalid(p.Child("code"), *f.Code, "ICMP code must be between 0 and 255"))
		}
		if f.Type == nil {
			c.add(field.Required(p.Child("type"), "ICMP code specified without an ICMP type: set type as well"))
		}
	}
}

// protocolVersion checks R7: ICMP is IPv4-only and ICMPv6 IPv6-only.
func (c *checker) protocolVersion(name string, pr *v1alpha1.Protocol, n uint8, ipVersion int, p *field.Path) {
	switch {
	case n == protoICMP && ipVersion == 6:
		c.add(field.Invalid(p, protocolValue(pr), name+" ICMP requires ipVersion 4: use ICMPv6 for IPv6"))
	case n == protoICMPv6 && ipVersion == 4:
		c.add(field.Invalid(p, protocolValue(pr), name+" ICMPv6 requires ipVersion 6: use ICMP for IPv4"))
	}
}

// protocolValue is the value as written, for error messages.
func protocolValue(pr *v1alpha1.Protocol) any {
	if pr.Type == intstr.Int {
		return pr.IntVal
	}
	return pr.StrVal
}

// portsNeedProtocol checks R4 over the four port lists of a rule. Named ports need no protocol (they
// resolve to the protocol of the named container port); numbers and ranges do.
func (c *checker) portsNeedProtocol(r *v1alpha1.Rule, proto uint8, protoOK bool, p *field.Path) {
	numeric, anyPort := false, false
	for _, list := range [][]v1alpha1.Port{r.Source.Ports, r.Source.NotPorts, r.Destination.Ports, r.Destination.NotPorts} {
		for _, port := range list {
			pr, err := port.Parse()
			if err != nil {
				continue // reported by the port check
			}
			anyPort = true
			if !pr.IsNamed() {
				numeric = true
			}
		}
	}
	switch {
	case r.Protocol == nil && numeric:
		c.add(field.Required(p, "rules with numeric ports or port ranges must set protocol to TCP, UDP or SCTP (named ports need none)"))
	case protoOK && anyPort && proto != 6 && proto != 17 && proto != 132:
		c.add(field.Invalid(p, protocolValue(r.Protocol), "rules that specify ports must set protocol to TCP, UDP or SCTP (or 6, 17, 132)"))
	}
}
