package validation

import "testing"

const portChoicesDetail = `ports are a number 1-65535, a range "min:max" with min <= max, or a port name such as "http"`

func TestPorts(t *testing.T) {
	const p0 = "spec.ingress[0].destination.ports[0]"
	const p1 = "spec.ingress[0].destination.ports[1]"
	tcp := func(ps ...any) any { return np(withIngress(allow(proto("TCP"), dst(ports(ps...))))) }
	runPolicyCases(t, []policyCase{
		{name: "port 1 and 65535", obj: tcp(1, 65535)},
		{name: "port as string", obj: tcp("8080")},
		{name: "range", obj: tcp("80:90")},
		{name: "range of one", obj: tcp("80:80")},
		{name: "full range", obj: tcp("1:65535")},
		{name: "named port", obj: tcp("https")},
		{name: "named port 15 chars", obj: tcp("abcdefghijklmno")},
		{name: "named port with digits and hyphen", obj: tcp("h2-c8")},
		{name: "port 0", obj: tcp(80, 0),
			wantErrs: []wantErr{inv(p1, "port 0 is invalid: "+portChoicesDetail)}},
		{name: "port string 0", obj: tcp("0"),
			wantErrs: []wantErr{inv(p0, "port 0 is invalid: "+portChoicesDetail)}},
		{name: "range from 0", obj: tcp("0:80"),
			wantErrs: []wantErr{inv(p0, "port 0 is invalid: "+portChoicesDetail)}},
		{name: "port 65536", obj: tcp(65536),
			wantErrs: []wantErr{inv(p0, "invalid port: 65536 is outside 0-65535: "+portChoicesDetail)}},
		{name: "port negative", obj: tcp(-1),
			wantErrs: []wantErr{inv(p0, "invalid port: -1 is outside 0-65535: "+portChoicesDetail)}},
		{name: "port string 65536", obj: tcp("65536"),
			wantErrs: []wantErr{inv(p0, `invalid port: "65536" is outside 0-65535: `+portChoicesDetail)}},
		{name: "range reversed", obj: tcp("10:1"),
			wantErrs: []wantErr{inv(p0, `invalid port: range "10:1" has its minimum above its maximum: `+portChoicesDetail)}},
		{name: "range bound too big", obj: tcp("0:65536"),
			wantErrs: []wantErr{inv(p0, `invalid port: range "0:65536" has a bound outside 0-65535: `+portChoicesDetail)}},
		{name: "three parts", obj: tcp("1:2:3"),
			wantErrs: []wantErr{inv(p0, `invalid port: "1:2:3" is neither a number, a range "min:max" nor a port name: `+portChoicesDetail)}},
		{name: "star", obj: tcp("*"),
			wantErrs: []wantErr{inv(p0, `invalid port: "*" is neither a number, a range "min:max" nor a port name: `+portChoicesDetail)}},
		{name: "negative range", obj: tcp("-1:65535"),
			wantErrs: []wantErr{inv(p0, `invalid port: "-1:65535" is neither a number, a range "min:max" nor a port name: `+portChoicesDetail)}},
		{name: "empty string", obj: tcp(""),
			wantErrs: []wantErr{inv(p0, `invalid port: "" is neither a number, a range "min:max" nor a port name: `+portChoicesDetail)}},
		{name: "named port 16 chars", obj: tcp("abcdefghijklmnop"),
			wantErrs: []wantErr{inv(p0, "port name must be no more than 15 characters")}},
		{name: "named port uppercase", obj: tcp("HTTP"),
			wantErrs: []wantErr{
				inv(p0, "port name must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)"),
				inv(p0, "port name must contain at least one letter (a-z)"),
			}},
		{name: "named port underscore", obj: tcp("http_alt"),
			wantErrs: []wantErr{inv(p0, "port name must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")}},
		{name: "named port double hyphen", obj: tcp("a--b"),
			wantErrs: []wantErr{inv(p0, "port name must not contain consecutive hyphens")}},
		{name: "named port leading hyphen", obj: tcp("-web"),
			wantErrs: []wantErr{inv(p0, "port name must not begin or end with a hyphen")}},
		{name: "named port trailing hyphen", obj: tcp("web-"),
			wantErrs: []wantErr{inv(p0, "port name must not begin or end with a hyphen")}},
		{name: "50 ports", obj: tcp(nPorts(50)...)},
		{name: "51 ports", obj: tcp(nPorts(51)...),
			wantErrs: []wantErr{tooMany("spec.ingress[0].destination.ports", 50)}},
		{name: "51 source notPorts", obj: np(withEgress(allow(proto("UDP"), src(notPorts(nPorts(51)...))))),
			wantErrs: []wantErr{tooMany("spec.egress[0].source.notPorts", 50)}},
		{name: "invalid port does not count for R4", obj: np(withIngress(allow(dst(ports("1:2:3"))))),
			wantErrs: []wantErr{inv(p0, `invalid port: "1:2:3" is neither a number, a range "min:max" nor a port name: `+portChoicesDetail)}},
	})
}
