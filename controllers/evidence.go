package controllers

import (
	"sort"
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// maxTopFlows is status.evidence.topFlows's MaxItems.
const maxTopFlows = 10

// policyRef names one policy the way NodeReports do.
type policyRef struct {
	kind            v1alpha1.PolicyKind
	namespace, name string
}

// evidence is what the node reports say about one policy.
type evidence struct {
	// nodes are the nodes running an enforcer: every node with a report, whatever it mentions. Each
	// enforcer reports every policy it programs, so a node that does not mention the policy has not
	// programmed it yet and holds a promotion back.
	nodes []string
	// reports are the planner's view of each mention of the policy.
	reports []rollout.NodeReport
	// flows are the mentions' would-deny samples, with the window they were counted in.
	flows []windowFlows
}

type windowFlows struct {
	node        string
	generation  int64
	phase       v1alpha1.RolloutPhase
	windowStart time.Time
	observedAt  time.Time
	flows       []v1alpha1.ObservedFlow
}

// gatherEvidence reads the node reports about ref. It only reads the reports (they may be the cache's
// own objects).
func gatherEvidence(reports []v1alpha1.NodeReport, ref policyRef) evidence {
	var ev evidence
	seen := map[string]bool{}
	for i := range reports {
		spec := &reports[i].Spec
		node := spec.NodeName
		if node == "" {
			node = reports[i].Name
		}
		if !seen[node] {
			seen[node] = true
			ev.nodes = append(ev.nodes, node)
		}
		for j := range spec.Policies {
			p := &spec.Policies[j]
			if p.Kind != ref.kind || p.Name != ref.name || p.Namespace != ref.namespace {
				continue
			}
			var ws time.Time
			if p.WindowStart != nil {
				ws = p.WindowStart.Time
			}
			ev.reports = append(ev.reports, rollout.NodeReport{
				Node: node, ObservedAt: spec.ReportTime.Time,
				Generation: p.Generation, Phase: p.Phase, EnforcedGeneration: p.EnforcedGeneration, WindowStart: ws,
				Window: counts(p.Window), Recent: counts(p.Recent),
			})
			if len(p.WouldDenyFlows) > 0 {
				ev.flows = append(ev.flows, windowFlows{node: node, generation: p.Generation, phase: p.Phase,
					windowStart: ws, observedAt: spec.ReportTime.Time, flows: p.WouldDenyFlows})
			}
		}
	}
	sort.Strings(ev.nodes)
	return ev
}

func counts(c v1alpha1.FlowCounts) rollout.Counts {
	return rollout.Counts{WouldDeny: c.WouldDeny, Denied: c.Denied, Allowed: c.Allowed}
}

type flowKey struct {
	src, dst, proto string
	port            int32
}

// topFlows sums the would-deny samples counted for the status's generation, phase and window over the
// nodes whose report is fresh (newer than staleBefore) and returns the most frequent, ties broken by
// the flow's key so the result does not depend on the order of the reports. Nil when there are none.
func topFlows(ev evidence, st *v1alpha1.PolicyStatus, generation int64, staleBefore time.Time) []v1alpha1.FlowSample {
	if st.Evidence == nil || st.Evidence.WindowStart == nil {
		return nil
	}
	ws := st.Evidence.WindowStart.Time
	sum := map[flowKey]int64{}
	// A node with several mentions (shards written at different times) counts its newest only, as the
	// planner does.
	newest := map[string]windowFlows{}
	for _, wf := range ev.flows {
		if wf.generation != generation || wf.phase != st.Phase || !wf.windowStart.Equal(ws) || wf.observedAt.Before(staleBefore) {
			continue
		}
		if old, ok := newest[wf.node]; ok && !wf.observedAt.After(old.observedAt) {
			continue
		}
		newest[wf.node] = wf
	}
	for _, wf := range newest {
		for _, f := range wf.flows {
			sum[flowKey{f.Source, f.Destination, f.Protocol, f.Port}] += f.Count
		}
	}
	if len(sum) == 0 {
		return nil
	}
	out := make([]v1alpha1.FlowSample, 0, len(sum))
	for k, n := range sum {
		out = append(out, v1alpha1.FlowSample{Source: k.src, Destination: k.dst, Protocol: k.proto, Port: k.port, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		switch {
		case a.Count != b.Count:
			return a.Count > b.Count
		case a.Source != b.Source:
			return a.Source < b.Source
		case a.Destination != b.Destination:
			return a.Destination < b.Destination
		case a.Protocol != b.Protocol:
			return a.Protocol < b.Protocol
		default:
			return a.Port < b.Port
		}
	})
	if len(out) > maxTopFlows {
		out = out[:maxTopFlows]
	}
	return out
}
