package suggest

import (
	"testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzParsePeer: any flow end either parses into exactly one of a pod reference or an address, or is
// refused; a parsed pod end never panics For.
func FuzzParsePeer(f *testing.F) {
	for _, s := range []string{"shop/web", "10.0.0.1", "2001:db8::1", "a/b/c", "", "/", "::ffff:1.2.3.4"} {
		f.Add(s, "TCP", int32(80))
	}
	f.Fuzz(func(t *testing.T, s, proto string, port int32) {
		ns, name, a, err := ParsePeer(s)
		if err != nil {
			return
		}
		if a.IsValid() == (ns != "") || (ns == "") != (name == "") {
			t.Fatalf("ParsePeer(%q) = %q %q %v: want exactly one of pod and address", s, ns, name, a)
		}
		peer := Peer{Addr: a}
		if !a.IsValid() {
			peer = Peer{Pod: &Pod{Namespace: ns, Name: name, Labels: map[string]string{"app": "x"}}}
		}
		p := &v1alpha1.NetworkPolicy{}
		p.Namespace, p.Name, p.Spec.Selector = "shop", "p", "all()"
		_, _ = For(Policy{NetworkPolicy: p}, Flow{Source: peer, Destination: Peer{Pod: &Pod{Namespace: "shop", Name: "db"}},
			Protocol: proto, Port: port}, nil)
	})
}
