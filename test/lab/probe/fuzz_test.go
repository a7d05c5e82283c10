package probe

import (
	"strings"
	"testing"
)

// FuzzParsePorts: any input gives ports or an error, never a panic, and what it accepts prints
// back to something it reads the same way.
func FuzzParsePorts(f *testing.F) {
	for _, s := range []string{"80/TCP,81/udp,ICMP", "80", "", ",", "65535/UDP", "0/TCP", "80/SCTP", "icmp,icmp"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ports, err := ParsePorts(s)
		if err != nil {
			return
		}
		var parts []string
		for _, p := range ports {
			if p.Protocol != TCP && p.Protocol != UDP && p.Protocol != ICMP {
				t.Fatalf("ParsePorts(%q) gave protocol %q", s, p.Protocol)
			}
			if (p.Protocol == ICMP) != (p.Port == 0) {
				t.Fatalf("ParsePorts(%q) gave %+v", s, p)
			}
			parts = append(parts, p.String())
		}
		again, err := ParsePorts(strings.Join(parts, ","))
		if err != nil || len(again) != len(ports) {
			t.Fatalf("ParsePorts(%q) = %v, printed back and read: %v, %v", s, ports, again, err)
		}
		for i := range again {
			if again[i] != ports[i] {
				t.Fatalf("ParsePorts(%q) = %v, round trip %v", s, ports, again)
			}
		}
	})
}
