package engine

import (
	"slices"
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzEngine builds a random world from the input bytes plus one policy made of raw fuzzed
// strings (selector, namespace selector, CIDR, port, protocol), and requires that nothing panics,
// that evaluation is deterministic, that reversing the insertion order changes nothing, and that
// the index agrees with the unindexed baseline.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{}, "", "", "10.0.0.0/8", "80", "TCP")
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "app == 'a0'", "env == 'a'", "fd00::/64", "http", "UDP")
	f.Add([]byte("palisade policy engine fuzz corpus seed"), "a = 'b'", "global()", "bad", "0:10", "ICMP")
	f.Add([]byte{255, 254, 253, 0, 0, 7, 9, 200, 100, 3}, "has(tier) && !has(x)", "!has(env)", "::/0", "1:65535", "17")
	f.Fuzz(func(t *testing.T, data []byte, sel, nsSel, cidr, port, protocol string) {
		w := genWorld(&byteChooser{b: data})
		p := v1alpha1.ProtocolFromString(protocol)
		raw := np("ns0", "raw", func(s *v1alpha1.PolicySpec) {
			s.Selector = sel
			s.Ingress = []v1alpha1.Rule{{
				Action:      v1alpha1.Allow,
				Protocol:    &p,
				Source:      v1alpha1.EntityRule{Selector: sel, NamespaceSelector: nsSel, Nets: []string{cidr}},
				Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromString(port)}, NotSelector: nsSel},
			}}
			s.Egress = []v1alpha1.Rule{{Action: v1alpha1.Deny, Destination: v1alpha1.EntityRule{NotNets: []string{cidr}, NamespaceSelector: nsSel}}}
		})
		rawGlobal := gnpNS("raw", nsSel, sel2(sel), saSel(sel), ingress(v1alpha1.Rule{Action: v1alpha1.Pass, Source: v1alpha1.EntityRule{ServiceAccounts: &v1alpha1.ServiceAccountMatch{Selector: nsSel}}}))
		objs := append(slices.Clone(w.objs), raw, candidate{rawGlobal})

		a := New()
		for _, o := range objs {
			_ = store(a, o)
		}
		b := New()
		for i := len(objs) - 1; i >= 0; i-- {
			_ = store(b, objs[i])
		}
		first := verdicts(t, a, w.flows)
		if again := verdicts(t, a, w.flows); again != first {
			t.Fatalf("evaluation is not deterministic:\n%s\n%s", first, again)
		}
		if rev := verdicts(t, b, w.flows); rev != first {
			t.Fatalf("reversed insertion changed verdicts:\n%s\n%s", first, rev)
		}
		if lin := linearVerdicts(t, a, w.flows); lin != first {
			t.Fatalf("index and baseline disagree:\n%s\n%s", first, lin)
		}
	})
}

func sel2(s string) func(*v1alpha1.PolicySpec) { return sel(s) }
