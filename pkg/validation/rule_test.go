package validation

import (
	"testing"

	"k8s.io/utils/ptr"
)

const (
	protoChoices       = "use one of TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite or a number 1-255"
	caseDetail         = "protocol names are case-sensitive: " + protoChoices
	protoNumDetail     = "protocol numbers must be 1-255, or " + protoChoices
	numericNeedsProto  = "rules with numeric ports or port ranges must set protocol to TCP, UDP or SCTP (named ports need none)"
	portsNeedPortProto = "rules that specify ports must set protocol to TCP, UDP or SCTP (or 6, 17, 132)"
	icmpNeedsProto     = "ICMP fields require protocol to be ICMP or ICMPv6"
	httpDetail         = "L7 (http) rules are not supported by the iptables dataplane, and ignoring them would widen an Allow: remove http"
)

func TestRules(t *testing.T) {
	runPolicyCases(t, []policyCase{
		// R1: action.
		{name: "actions all four", obj: np(withIngress(logR(proto("TCP")), pass(proto("UDP")), deny(proto("SCTP")), allow()))},
		{name: "action missing", obj: np(withIngress(rule(""))),
			wantErrs: []wantErr{req("spec.ingress[0].action", "must be one of Allow, Deny, Log, Pass")}},
		{name: "action lowercase", obj: np(withEgress(rule("deny"))),
			wantErrs: []wantErr{notSup("spec.egress[0].action", "Allow", "Deny", "Log", "Pass")}},
		{name: "action unknown", obj: gnp(withIngress(allow(proto("TCP")), rule("Reject"))),
			wantErrs: []wantErr{notSup("spec.ingress[1].action", "Allow", "Deny", "Log", "Pass")}},
		// R2: ipVersion.
		{name: "ipVersion 4", obj: np(withIngress(allow(ipv(4))))},
		{name: "ipVersion 6", obj: np(withIngress(allow(ipv(6))))},
		{name: "ipVersion 5", obj: np(withIngress(allow(ipv(5)))),
			wantErrs: []wantErr{notSup("spec.ingress[0].ipVersion", "4", "6")}},
		// R3: protocol and notProtocol.
		{name: "protocol names", obj: np(withIngress(allow(proto("TCP")), allow(proto("UDP")), allow(proto("ICMP")),
			allow(proto("ICMPv6")), allow(proto("SCTP")), allow(proto("UDPLite"))))},
		{name: "protocol numbers 1 and 255", obj: np(withIngress(allow(protoNum(1)), allow(protoNum(255))))},
		{name: "protocol string number", obj: np(withIngress(allow(proto("47"))))},
		{name: "protocol lowercase", obj: np(withIngress(allow(proto("tcp")))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", caseDetail)}},
		{name: "protocol Icmpv6 mixed case", obj: np(withIngress(allow(proto("Icmpv6")))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", caseDetail)}},
		{name: "protocol unknown name", obj: np(withIngress(allow(proto("tcpfoo")))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", "unknown protocol: "+protoChoices)}},
		{name: "protocol 0", obj: np(withIngress(allow(protoNum(0)))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", protoNumDetail)}},
		{name: "protocol 256 number", obj: np(withIngress(allow(protoNum(256)))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", protoNumDetail)}},
		{name: "protocol 256 string", obj: np(withIngress(allow(protoRaw("256")))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", protoNumDetail)}},
		{name: "protocol empty string", obj: np(withIngress(allow(protoRaw("")))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", "unknown protocol: "+protoChoices)}},
		{name: "notProtocol valid", obj: np(withIngress(allow(notProto("UDP"))))},
		{name: "notProtocol lowercase", obj: np(withEgress(allow(notProto("udp")))),
			wantErrs: []wantErr{inv("spec.egress[0].notProtocol", caseDetail)}},
		// R4: ports need a port protocol.
		{name: "numeric port with TCP", obj: np(withIngress(allow(proto("TCP"), dst(ports(80, "8000:8080")))))},
		{name: "numeric port with 17", obj: np(withIngress(allow(protoNum(17), dst(ports(53)))))},
		{name: "numeric port with SCTP", obj: np(withIngress(allow(proto("SCTP"), src(notPorts(9)))))},
		{name: "named port without protocol", obj: np(withIngress(allow(dst(ports("https")))))},
		{name: "empty port list with ICMP", obj: np(withIngress(allow(proto("ICMP"), dst(ports()))))},
		{name: "numeric port without protocol", obj: np(withIngress(allow(dst(ports(80))))),
			wantErrs: []wantErr{req("spec.ingress[0].protocol", numericNeedsProto)}},
		{name: "source notPorts range without protocol", obj: np(withEgress(allow(src(notPorts("1:1024"))))),
			wantErrs: []wantErr{req("spec.egress[0].protocol", numericNeedsProto)}},
		{name: "mixed named and numeric without protocol", obj: np(withIngress(allow(dst(ports("http", 443))))),
			wantErrs: []wantErr{req("spec.ingress[0].protocol", numericNeedsProto)}},
		{name: "port with ICMP", obj: np(withIngress(allow(proto("ICMP"), dst(ports(80))))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", portsNeedPortProto)}},
		{name: "named port with UDPLite", obj: np(withIngress(allow(proto("UDPLite"), dst(ports("dns"))))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", portsNeedPortProto)}},
		{name: "port with protocol 7", obj: np(withIngress(allow(protoNum(7), dst(notPorts(7))))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", portsNeedPortProto)}},
		{name: "invalid protocol with ports reports the protocol only", obj: np(withIngress(allow(proto("tcp"), dst(ports(80))))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", caseDetail)}},
		// R6: icmp and notICMP.
		{name: "icmp type and code", obj: np(withIngress(allow(proto("ICMP"), icmp(ptr.To(8), ptr.To(0)))))},
		{name: "icmp with protocol 58", obj: np(withIngress(allow(protoNum(58), icmp(ptr.To(128), nil))))},
		{name: "icmp type 254 code 255", obj: np(withIngress(allow(proto("ICMPv6"), icmp(ptr.To(254), ptr.To(255)))))},
		{name: "icmp without protocol", obj: np(withIngress(allow(icmp(ptr.To(8), nil)))),
			wantErrs: []wantErr{forb("spec.ingress[0].icmp", icmpNeedsProto)}},
		{name: "icmp with TCP", obj: np(withIngress(allow(proto("TCP"), icmp(ptr.To(8), nil)))),
			wantErrs: []wantErr{forb("spec.ingress[0].icmp", icmpNeedsProto)}},
		{name: "icmp with lowercase protocol reports the protocol only", obj: np(withIngress(allow(proto("icmp"), icmp(ptr.To(8), nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", caseDetail)}},
		{name: "icmp code without type", obj: np(withIngress(allow(proto("ICMP"), icmp(nil, ptr.To(0))))),
			wantErrs: []wantErr{req("spec.ingress[0].icmp.type", "ICMP code specified without an ICMP type: set type as well")}},
		{name: "icmp type 255", obj: np(withIngress(allow(proto("ICMP"), icmp(ptr.To(255), nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].icmp.type", "ICMP type must be between 0 and 254")}},
		{name: "icmp code 256", obj: np(withIngress(allow(proto("ICMP"), icmp(ptr.To(3), ptr.To(256))))),
			wantErrs: []wantErr{inv("spec.ingress[0].icmp.code", "ICMP code must be between 0 and 255")}},
		{name: "icmp negative type", obj: np(withIngress(allow(proto("ICMP"), icmp(ptr.To(-1), nil)))),
			wantErrs: []wantErr{inv("spec.ingress[0].icmp.type", "ICMP type must be between 0 and 254")}},
		{name: "notICMP needs no protocol", obj: np(withIngress(allow(notICMP(ptr.To(8), nil))))},
		{name: "notICMP code without type", obj: np(withIngress(allow(notICMP(nil, ptr.To(1))))),
			wantErrs: []wantErr{req("spec.ingress[0].notICMP.type", "ICMP code specified without an ICMP type: set type as well")}},
		// R7: ICMP versions.
		{name: "ICMP with ipVersion 4", obj: np(withIngress(allow(proto("ICMP"), ipv(4))))},
		{name: "ICMPv6 with ipVersion 6", obj: np(withIngress(allow(proto("ICMPv6"), ipv(6))))},
		{name: "ICMP with ipVersion 6", obj: np(withIngress(allow(proto("ICMP"), ipv(6)))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", "protocol ICMP requires ipVersion 4: use ICMPv6 for IPv6")}},
		{name: "protocol 58 with ipVersion 4", obj: np(withIngress(allow(protoNum(58), ipv(4)))),
			wantErrs: []wantErr{inv("spec.ingress[0].protocol", "protocol ICMPv6 requires ipVersion 6: use ICMP for IPv4")}},
		{name: "notProtocol ICMP with ipVersion 6", obj: np(withIngress(allow(notProto("ICMP"), ipv(6)))),
			wantErrs: []wantErr{inv("spec.ingress[0].notProtocol", "notProtocol ICMP requires ipVersion 4: use ICMPv6 for IPv6")}},
		// Palisade: http is rejected on any rule.
		{name: "http on ingress allow", obj: np(withIngress(allow(httpMatch("GET")))),
			wantErrs: []wantErr{forb("spec.ingress[0].http", httpDetail)}},
		{name: "http on egress", obj: gnp(withEgress(allow(proto("TCP")), deny(httpMatch()))),
			wantErrs: []wantErr{forb("spec.egress[1].http", httpDetail)}},
		// N6: rule metadata.
		{name: "rule annotations valid", obj: np(withIngress(allow(ruleAnnotations("owner", "team-a"))))},
		{name: "rule annotation key invalid", obj: np(withIngress(allow(ruleAnnotations("bad key", "x")))),
			wantErrs: []wantErr{inv("spec.ingress[0].metadata.annotations", `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`)}},
	})
}
