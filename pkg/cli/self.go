package cli

import (
	"github.com/palisade-dev/palisade/pkg/engine"
)

// reasonSelfTraffic is the decision of a flow from an address to itself. A pod that connects to
// its own IP never sends the packet out of its network namespace: the kernel delivers it over the
// loopback, so it crosses no interface where policy is enforced (Calico's and Palisade's rules sit
// on the host side of the pod's interface) and every such flow is allowed. That is also what the
// lab's probes measure, so the matrix diagonal shows it instead of a policy evaluation.
const reasonSelfTraffic engine.Reason = "SelfTraffic"

// evaluate is the verdict of one flow as the kernel would give it: self traffic is allowed
// without policy, everything else is the engine's enforced verdict.
func (m *model) evaluate(flow engine.Flow) (engine.Verdict, error) {
	if flow.Src != flow.Dst {
		return m.eng.Evaluate(flow, engine.EnforcedOnly)
	}
	var ref *engine.EndpointRef
	if refs := m.eng.EndpointsForIP(flow.Dst); len(refs) > 0 {
		r := refs[0]
		ref = &r
	}
	side := engine.DirectionTrace{Endpoint: ref, Allowed: true, Decision: engine.Decision{Reason: reasonSelfTraffic}, Policies: []engine.PolicyTrace{}}
	return engine.Verdict{Allowed: true, Egress: side, Ingress: side}, nil
}

// allowed is evaluate's verdict alone, for the matrix.
func (m *model) allowed(flow engine.Flow) (bool, error) {
	if flow.Src == flow.Dst {
		return true, nil
	}
	return m.eng.Allowed(flow, engine.EnforcedOnly)
}
