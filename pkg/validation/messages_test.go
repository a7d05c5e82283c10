package validation

import (
	"testing"

	"k8s.io/utils/ptr"
)

// TestErrorMessages pins the full text users see (path, type, bad value and detail) for a few errors,
// including how bad values that are numbers or strings are rendered.
func TestErrorMessages(t *testing.T) {
	cases := []struct {
		name string
		obj  any
		want string
	}{
		{name: "lowercase protocol", obj: np(withIngress(allow(proto("tcp")))),
			want: `spec.ingress[0].protocol: Invalid value: "tcp": protocol names are case-sensitive: use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255`},
		{name: "numeric protocol 0", obj: np(withIngress(allow(protoNum(0)))),
			want: `spec.ingress[0].protocol: Invalid value: 0: protocol numbers must be 1-255, or use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255`},
		{name: "numeric port 0", obj: np(withIngress(allow(proto("TCP"), dst(ports(80, 0))))),
			want: `spec.ingress[0].destination.ports[1]: Invalid value: 0: port 0 is invalid: ports are a number 1-65535, a range "min:max" with min <= max, or a port name such as "http"`},
		{name: "string port range", obj: np(withIngress(allow(proto("TCP"), dst(ports("90:80"))))),
			want: `spec.ingress[0].destination.ports[0]: Invalid value: "90:80": invalid port: range "90:80" has its minimum above its maximum: ports are a number 1-65535, a range "min:max" with min <= max, or a port name such as "http"`},
		{name: "bare IP", obj: np(withEgress(allow(src(nets("10.1.2.3"))))),
			want: `spec.egress[0].source.nets[0]: Invalid value: "10.1.2.3": bare IP addresses are not allowed: write 10.1.2.3/32`},
		{name: "selector position", obj: np(policySelector(`app = "web"`)),
			want: `spec.selector: Invalid value: "app = \"web\"": invalid selector: at position 4: expected "==", "!=", "in", "not in", "contains", "starts with" or "ends with", found "="`},
		{name: "tier", obj: gnp(tier("security")),
			want: `spec.tier: Invalid value: "security": tiers are not supported yet: leave tier empty or set it to "default"`},
		{name: "http", obj: np(withIngress(allow(httpMatch("GET")))),
			want: `spec.ingress[0].http: Forbidden: L7 (http) rules are not supported by the iptables dataplane, and ignoring them would widen an Allow: remove http`},
		{name: "domains", obj: np(withEgress(allow(dst(domains("example.com"))))),
			want: `spec.egress[0].destination.domains: Forbidden: domains is not supported yet: the enforcer cannot match DNS names; use nets with the destination's CIDRs`},
		{name: "action", obj: np(withIngress(rule("allow"))),
			want: `spec.ingress[0].action: Unsupported value: "allow": supported values: "Allow", "Deny", "Log", "Pass"`},
		{name: "icmp type", obj: np(withIngress(allow(proto("ICMP"), icmp(ptr.To(300), nil)))),
			want: `spec.ingress[0].icmp.type: Invalid value: 300: ICMP type must be between 0 and 254`},
		{name: "duplicate type", obj: np(types(ing, ing)),
			want: `spec.types[1]: Duplicate value: "Ingress"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			errs, _ := validateAny(tc.obj)
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %v", errs)
			}
			if got := errs[0].Error(); got != tc.want {
				t.Errorf("Error() =\n  %s\nwant\n  %s", got, tc.want)
			}
		})
	}
}
