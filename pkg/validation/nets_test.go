package validation

import "testing"

const (
	catchAllDetail = "catch-all CIDR in negation creates logical contradiction (matches no traffic): remove it"
	mixedDetail    = "rule contains both IPv4 and IPv6 CIDRs: write one rule per IP family"
	cidrDetail     = "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32 (no leading zeros)"
)

func TestNets(t *testing.T) {
	const sn0 = "spec.egress[0].destination.nets[0]"
	out := func(ts ...ruleTweak) any { return np(withEgress(allow(ts...))) }
	runPolicyCases(t, []policyCase{
		{name: "v4 nets", obj: out(dst(nets("203.0.113.0/24", "198.51.100.50/32")))},
		{name: "v6 nets", obj: out(dst(nets("2001:db8::/32", "::/0")))},
		{name: "v4 catch-all in nets", obj: out(dst(nets("0.0.0.0/0")))},
		{name: "nets and notNets same family", obj: out(dst(nets("192.168.0.0/16", "172.16.0.0/12"), notNets("192.168.1.0/24")))},
		{name: "ipVersion 6 with v6 nets", obj: out(ipv(6), src(nets("fd00::/8")), dst(notNets("fd00:1::/32")))},
		{name: "bare IPv4", obj: out(dst(nets("10.0.0.1"))),
			wantErrs: []wantErr{inv(sn0, "bare IP addresses are not allowed: write 10.0.0.1/32")}},
		{name: "bare IPv6", obj: out(dst(nets("2001:db8::1"))),
			wantErrs: []wantErr{inv(sn0, "bare IP addresses are not allowed: write 2001:db8::1/128")}},
		{name: "not a CIDR", obj: out(dst(nets("example.com"))),
			wantErrs: []wantErr{inv(sn0, cidrDetail)}},
		{name: "prefix too long", obj: out(dst(nets("10.0.0.0/33"))),
			wantErrs: []wantErr{inv(sn0, cidrDetail)}},
		{name: "leading zero in prefix", obj: out(dst(nets("10.0.0.0/08"))),
			wantErrs: []wantErr{inv(sn0, cidrDetail)}},
		{name: "bits beyond prefix", obj: out(dst(nets("10.0.0.1/8"))),
			wantErrs: []wantErr{inv(sn0, "must not have bits set beyond the prefix length: write 10.0.0.0/8")}},
		{name: "v6 bits beyond prefix", obj: out(src(nets("2001:db8::1/32"))),
			wantErrs: []wantErr{inv("spec.egress[0].source.nets[0]", "must not have bits set beyond the prefix length: write 2001:db8::/32")}},
		{name: "IPv4-mapped IPv6", obj: out(dst(nets("::ffff:10.0.0.0/104"))),
			wantErrs: []wantErr{inv(sn0, "IPv4-mapped IPv6 CIDRs are ambiguous: write the IPv4 CIDR")}},
		{name: "zone", obj: out(dst(nets("fe80::%eth0/64"))),
			wantErrs: []wantErr{inv(sn0, cidrDetail)}},
		{name: "bare IP with zone", obj: out(dst(nets("fe80::1%eth0"))),
			wantErrs: []wantErr{inv(sn0, cidrDetail)}},
		{name: "duplicate nets", obj: out(dst(nets("10.0.0.0/8", "10.0.0.0/8"))),
			wantErrs: []wantErr{dup("spec.egress[0].destination.nets[1]")}},
		{name: "duplicate notNets are allowed", obj: out(dst(nets("10.0.0.0/8")), src(notNets("10.1.0.0/16", "10.1.0.0/16")))},
		{name: "notNets 0.0.0.0/0", obj: out(dst(notNets("0.0.0.0/0"))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.notNets[0]", catchAllDetail)}},
		{name: "notNets ::/0", obj: out(ipv(6), src(notNets("::/0"))),
			wantErrs: []wantErr{inv("spec.egress[0].source.notNets[0]", catchAllDetail)}},
		{name: "notNets ::0/0", obj: out(ipv(6), src(notNets("::0/0"))),
			wantErrs: []wantErr{inv("spec.egress[0].source.notNets[0]", catchAllDetail)}},
		{name: "ipVersion 4 with v6 CIDR", obj: out(ipv(4), dst(nets("10.0.0.0/8", "2001:db8::/32"))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.nets[1]", "rule IP version doesn't match CIDR version: ipVersion is 4, use IPv4 CIDRs")}},
		{name: "ipVersion 6 with v4 notNets", obj: out(ipv(6), src(notNets("10.0.0.0/8"))),
			wantErrs: []wantErr{inv("spec.egress[0].source.notNets[0]", "rule IP version doesn't match CIDR version: ipVersion is 6, use IPv6 CIDRs")}},
		{name: "mixed families in one list", obj: out(dst(nets("10.0.0.0/8", "2001:db8::/32"))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.nets[1]", mixedDetail)}},
		{name: "mixed families across source and destination", obj: out(src(nets("2001:db8::/32")), dst(notNets("10.0.0.0/8"), nets("fd00::/8"))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.notNets[0]", mixedDetail)}},
		{name: "mixed reported once", obj: out(dst(nets("10.0.0.0/8", "2001:db8::/32", "fd00::/8"))),
			wantErrs: []wantErr{inv("spec.egress[0].destination.nets[1]", mixedDetail)}},
		{name: "256 nets", obj: out(dst(nets(nNets(256)...)))},
		{name: "257 nets", obj: out(dst(nets(nNets(257)...))),
			wantErrs: []wantErr{tooMany("spec.egress[0].destination.nets", 256)}},
		{name: "257 notNets", obj: out(ipv(4), src(notNets(nNets(257)...))),
			wantErrs: []wantErr{tooMany("spec.egress[0].source.notNets", 256)}},
	})
}
