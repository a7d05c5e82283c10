package suggest

import (
	"errors"
	"fmt"
	"net/netip"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

type fieldErrors = field.ErrorList

// world is the flow's two ends loaded into an engine: pods get addresses of their own (from the
// benchmarking ranges, never the address peer's), so the engine can evaluate the flow between them.
type world struct {
	pods []engine.Endpoint
	ns   []engine.Namespace
	flow engine.Flow
}

func newWorld(f Flow, proto uint8, nsLabels map[string]map[string]string) (*world, error) {
	v6 := f.Source.Addr.Is6() || f.Destination.Addr.Is6()
	if f.Source.Addr.IsValid() && f.Destination.Addr.IsValid() && f.Source.Addr.Is6() != f.Destination.Addr.Is6() {
		return nil, fmt.Errorf("flow %s -> %s mixes IPv4 and IPv6", f.Source, f.Destination)
	}
	w := &world{}
	pool := []string{"198.18.0.1", "198.18.0.2", "198.18.0.3"}
	if v6 {
		pool = []string{"2001:2::1", "2001:2::2", "2001:2::3"}
	}
	next := 0
	addr := func(p Peer) (netip.Addr, error) {
		if p.Pod == nil {
			if !p.Addr.IsValid() {
				return netip.Addr{}, errors.New("flow end is neither a pod nor an address")
			}
			return p.Addr, nil
		}
		for {
			a := netip.MustParseAddr(pool[next])
			next++
			if a != f.Source.Addr && a != f.Destination.Addr {
				w.addPod(p.Pod, a, nsLabels)
				return a, nil
			}
		}
	}
	src, err := addr(f.Source)
	if err != nil {
		return nil, fmt.Errorf("source: %w", err)
	}
	dst, err := addr(f.Destination)
	if err != nil {
		return nil, fmt.Errorf("destination: %w", err)
	}
	w.flow = engine.Flow{Src: src, Dst: dst, Protocol: proto, SrcPort: 40000}
	switch {
	case proto == engine.ProtoICMP && !v6:
		w.flow.ICMP = &engine.ICMPMatch{Type: 8} // echo request
	case proto == engine.ProtoICMPv6 && v6:
		w.flow.ICMP = &engine.ICMPMatch{Type: 128}
	case proto == engine.ProtoICMP || proto == engine.ProtoICMPv6:
		return nil, fmt.Errorf("protocol %s does not match the flow's address family", f.Protocol)
	default:
		w.flow.DstPort = uint16(f.Port) //nolint:gosec // For checked 0-65535
	}
	return w, nil
}

func (w *world) addPod(p *Pod, a netip.Addr, nsLabels map[string]map[string]string) {
	sa := p.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	w.pods = append(w.pods, engine.Endpoint{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels,
		ServiceAccount: sa, IPs: []netip.Addr{a}})
	for _, n := range w.ns {
		if n.Name == p.Namespace {
			return
		}
	}
	w.ns = append(w.ns, engine.Namespace{Name: p.Namespace, Labels: nsLabels[p.Namespace]})
}

// deniedSides evaluates the flow with p alone and returns the directions in which p denies it, at
// the pod that p governs there.
func (w *world) deniedSides(p Policy) ([]v1alpha1.PolicyType, error) {
	e := engine.New()
	for _, n := range w.ns {
		if err := e.UpsertNamespace(n); err != nil {
			return nil, fmt.Errorf("loading namespace %s: %w", n.Name, err)
		}
	}
	for _, ep := range w.pods {
		if err := e.UpsertPod(ep); err != nil {
			return nil, fmt.Errorf("loading pod %s: %w", ep.Ref(), err)
		}
	}
	if err := p.upsert(e); err != nil {
		return nil, fmt.Errorf("loading the policy: %w", err)
	}
	v, err := e.Evaluate(w.flow, engine.EnforcedOnly)
	if err != nil {
		return nil, fmt.Errorf("evaluating the flow: %w", err)
	}
	var out []v1alpha1.PolicyType
	// Egress first: it is the source's side, the first a packet crosses.
	if !v.Egress.Allowed {
		out = append(out, v1alpha1.PolicyTypeEgress)
	}
	if !v.Ingress.Allowed {
		out = append(out, v1alpha1.PolicyTypeIngress)
	}
	return out, nil
}
