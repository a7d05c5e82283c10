package knp

import (
	"reflect"
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

func ranges(t *testing.T, spec ...string) []v1alpha1.PortRange {
	t.Helper()
	var out []v1alpha1.PortRange
	for _, s := range spec {
		r, err := v1alpha1.PortFromString(s).Parse()
		if err != nil {
			t.Fatalf("test input %q: %v", s, err)
		}
		out = append(out, r)
	}
	return out
}

// TestSimplifyPorts pins Calico's SimplifyPorts: named ports first in written order, then the
// fewest ascending ranges; entries covering at most one port number are kept as written.
func TestSimplifyPorts(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{in: nil, want: nil},
		{in: []string{"80"}, want: []string{"80"}},
		{in: []string{"http", "80"}, want: []string{"http", "80"}},
		{in: []string{"80", "http"}, want: []string{"80", "http"}}, // one port: kept as written
		{in: []string{"http", "dns", "http"}, want: []string{"http", "dns", "http"}},
		{in: []string{"82", "80", "81"}, want: []string{"80:82"}},
		{in: []string{"80", "80"}, want: []string{"80"}},
		{in: []string{"80", "82"}, want: []string{"80", "82"}},
		{in: []string{"90:100", "80", "http", "95:120", "121", "200"}, want: []string{"http", "80", "90:121", "200"}},
		{in: []string{"1:65535", "22"}, want: []string{"1:65535"}},
		{in: []string{"65535", "65534"}, want: []string{"65534:65535"}},
		{in: []string{"10:20", "metrics"}, want: []string{"metrics", "10:20"}}, // a range covers several ports
		{in: []string{"10:20", "12:15"}, want: []string{"10:20"}},
	}
	for _, tt := range tests {
		if got := simplifyPorts(ranges(t, tt.in...)); !reflect.DeepEqual(got, ranges(t, tt.want...)) {
			t.Errorf("simplifyPorts(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

// TestRulesShareNothing: the rules made from one Kubernetes rule (TCP and UDP x an ipBlock and a
// pod peer) hold their own protocol, ports and nets, so that editing one rule never edits
// another.
func TestRulesShareNothing(t *testing.T) {
	for _, direction := range []string{"ingress:\n- from", "egress:\n- to"} {
		in := "podSelector: {}\n" + direction + `:
  - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}
  - podSelector: {}
  ports:
  - {protocol: TCP, port: 80}
  - {protocol: UDP, port: 53}
`
		translate := func() []v1alpha1.Rule {
			p, errs := Translate(parseSpec(t, in), FormPalisade)
			if len(errs) != 0 || len(p.Spec.Ingress)+len(p.Spec.Egress) != 4 {
				t.Fatalf("%s: unexpected translation %+v, errors %v", direction, p.Spec, errs)
			}
			return append(p.Spec.Ingress, p.Spec.Egress...)
		}
		want := translate()
		for k := range want {
			rules := translate()
			r := &rules[k]
			*r.Protocol = v1alpha1.ProtocolFromString("SCTP")
			for _, side := range []*v1alpha1.EntityRule{&r.Source, &r.Destination} {
				for i := range side.Nets {
					side.Nets[i] = "192.0.2.0/24"
				}
				for i := range side.NotNets {
					side.NotNets[i] = "192.0.2.0/25"
				}
				for i := range side.Ports {
					side.Ports[i] = v1alpha1.PortFromInt(1)
				}
			}
			for j := range rules {
				if j != k && !reflect.DeepEqual(rules[j], want[j]) {
					t.Errorf("%s: editing rule %d changed rule %d: %+v", direction, k, j, rules[j])
				}
			}
		}
	}
}
