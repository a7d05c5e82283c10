package oracle

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Palisade evaluates flows with Palisade's policy engine, loaded with the
// scenario's objects exactly as written (no defaulting).
type Palisade struct {
	e *engine.Engine
}

// NewPalisade loads s into a new engine. Any error is a finding: the
// generator only produces valid objects.
func NewPalisade(s *Scenario) (*Palisade, error) {
	e := engine.New()
	for _, ns := range s.Namespaces {
		n, err := engine.FromNamespace(ns)
		if err != nil {
			return nil, err
		}
		if err := e.UpsertNamespace(n); err != nil {
			return nil, fmt.Errorf("loading namespace %s: %w", ns.Name, err)
		}
	}
	for _, p := range s.Pods {
		ep, err := engine.FromPod(p)
		if err != nil {
			return nil, err
		}
		if err := e.UpsertPod(ep); err != nil {
			return nil, fmt.Errorf("loading pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	for _, np := range s.Policies {
		if err := e.UpsertKubernetesNetworkPolicy(np, engine.SlotEnforced); err != nil {
			return nil, fmt.Errorf("loading NetworkPolicy %s/%s: %w", np.Namespace, np.Name, err)
		}
	}
	return &Palisade{e: e}, nil
}

// protocolNumbers maps Kubernetes protocol names to IP protocol numbers.
var protocolNumbers = map[corev1.Protocol]uint8{
	corev1.ProtocolTCP:  engine.ProtoTCP,
	corev1.ProtocolUDP:  engine.ProtoUDP,
	corev1.ProtocolSCTP: engine.ProtoSCTP,
}

// EngineFlow converts f to the engine's flow. The source port is arbitrary:
// Kubernetes NetworkPolicy never restricts it.
func EngineFlow(f Flow) engine.Flow {
	return engine.Flow{
		Src:      netip.MustParseAddr(f.From.IP),
		Dst:      netip.MustParseAddr(f.To.IP),
		Protocol: protocolNumbers[f.Port.Protocol],
		SrcPort:  43210,
		DstPort:  uint16(f.Port.Port),
	}
}

// Verdict returns the engine's verdict for f, with its full trace.
func (p *Palisade) Verdict(f Flow) (Verdict, engine.Verdict, error) {
	v, err := p.e.Evaluate(EngineFlow(f), engine.EnforcedOnly)
	if err != nil {
		return Verdict{}, v, fmt.Errorf("evaluating %s: %w", f, err)
	}
	return Verdict{Egress: v.Egress.Allowed, Ingress: v.Ingress.Allowed}, v, nil
}
