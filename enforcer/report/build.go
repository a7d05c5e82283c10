package report

import (
	"cmp"
	"slices"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// Program is what the node has programmed for one policy, echoed from the status it read: the
// candidate generation (metadata.generation), the phase, the enforced generation and the window
// the operator counts (status.evidence.windowStart, zero when none).
type Program struct {
	Key                engine.PolicyKey
	Phase              v1alpha1.RolloutPhase
	Generation         int64
	EnforcedGeneration int64
	WindowStart        time.Time
}

// previous is a window that ended, remembered for one window.
type previous struct {
	generation int64
	phase      v1alpha1.RolloutPhase
	start, end time.Time
}

// DefaultMaxShards bounds the reports of one node: beyond MaxShards x MaxReportedPolicies
// policies, the rest are cut and counted (spec.omittedPolicies).
const DefaultMaxShards = 8

// buildInput is everything one report is made of.
type buildInput struct {
	node      string
	now       time.Time
	programs  []Program
	summary   observe.Summary
	previous  map[engine.PolicyKey]previous
	dropped   int64
	maxShards int
	perShard  int
}

// build returns the node's report specs, one per shard (at least one, so that a node with no
// policy still says it runs an enforcer). Policies are sorted by kind, namespace and name; only
// Palisade policies are reported (Kubernetes NetworkPolicies have no rollout).
func build(in buildInput) []v1alpha1.NodeReportSpec {
	if in.perShard <= 0 {
		in.perShard = v1alpha1.MaxReportedPolicies
	}
	if in.maxShards <= 0 {
		in.maxShards = DefaultMaxShards
	}
	sums := make(map[engine.PolicyKey]*observe.PolicySummary, len(in.summary.Policies))
	for i := range in.summary.Policies {
		sums[in.summary.Policies[i].Policy] = &in.summary.Policies[i]
	}
	var reports []v1alpha1.PolicyReport
	var omittedFlows []int64
	for _, p := range in.programs {
		kind, ok := reportedKind(p.Key.Kind)
		if !ok {
			continue
		}
		r, cut := policyReport(kind, p, sums[p.Key], in.previous[p.Key])
		reports = append(reports, r)
		omittedFlows = append(omittedFlows, cut)
	}
	order := make([]int, len(reports))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		x, y := &reports[a], &reports[b]
		return cmp.Or(cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Namespace, y.Namespace), cmp.Compare(x.Name, y.Name))
	})
	total := len(order)
	keep := min(total, in.maxShards*in.perShard)
	omittedPolicies := int32(total - keep) //nolint:gosec // bounded by the number of policies
	var specs []v1alpha1.NodeReportSpec
	for start := 0; start < keep || start == 0; start += in.perShard {
		spec := v1alpha1.NodeReportSpec{
			NodeName: in.node, ReportTime: metav1.NewMicroTime(in.now), DroppedSamples: in.dropped,
			PolicyCount: int32(total), OmittedPolicies: omittedPolicies, //nolint:gosec // bounded by the number of policies
		}
		for _, i := range order[start:min(keep, start+in.perShard)] {
			spec.Policies = append(spec.Policies, reports[i])
			spec.OmittedFlows += omittedFlows[i]
		}
		spec.Truncated = spec.OmittedPolicies > 0 || spec.OmittedFlows > 0
		specs = append(specs, spec)
		if keep == 0 {
			break
		}
	}
	return specs
}

func reportedKind(k engine.PolicyKind) (v1alpha1.PolicyKind, bool) {
	switch k {
	case engine.KindNetworkPolicy:
		return v1alpha1.KindNetworkPolicy, true
	case engine.KindGlobalNetworkPolicy:
		return v1alpha1.KindGlobalNetworkPolicy, true
	}
	return "", false
}

// policyReport is one policy's entry and how many of its window's flows were cut. The counts
// are the candidate generation's (p.Generation): in Enforced the candidate is the enforced
// generation, so its denials count as Denied.
func policyReport(kind v1alpha1.PolicyKind, p Program, s *observe.PolicySummary, prev previous) (v1alpha1.PolicyReport, int64) {
	r := v1alpha1.PolicyReport{Kind: kind, Namespace: p.Key.Namespace, Name: p.Key.Name,
		Generation: p.Generation, Phase: p.Phase, EnforcedGeneration: p.EnforcedGeneration}
	if !p.WindowStart.IsZero() {
		r.WindowStart = &metav1.Time{Time: p.WindowStart}
	}
	if s == nil {
		return r, 0
	}
	// The observer's window is the program's (the writer sets it before summarising); counts of
	// another window would be wrong, so none are reported.
	if !s.WindowStart.Equal(p.WindowStart) {
		return r, 0
	}
	r.Window = flowCounts(s.WindowCounts(p.Generation))
	r.Recent = flowCounts(s.RecentCounts(p.Generation))
	if !prev.start.IsZero() && s.PreviousWindowStart.Equal(prev.start) {
		var c observe.Counts
		for _, g := range s.Previous {
			if g.Generation == prev.generation {
				c = g.Counts
			}
		}
		r.PreviousWindow = &v1alpha1.PreviousWindow{Generation: prev.generation, Phase: prev.phase,
			Start: metav1.Time{Time: prev.start}, End: metav1.Time{Time: prev.end}, Counts: flowCounts(c)}
	}
	cut := s.FlowsCut
	for _, f := range s.Flows {
		if f.Generation != p.Generation {
			continue
		}
		if len(r.WouldDenyFlows) == v1alpha1.MaxReportedFlows {
			cut++
			continue
		}
		r.WouldDenyFlows = append(r.WouldDenyFlows, observedFlow(&f))
	}
	return r, cut
}

func flowCounts(c observe.Counts) v1alpha1.FlowCounts {
	return v1alpha1.FlowCounts{WouldDeny: c.WouldDeny, Denied: c.Denied, Allowed: c.Allowed}
}

func observedFlow(f *observe.FlowSample) v1alpha1.ObservedFlow {
	first, last := metav1.NewTime(f.FirstSeen), metav1.NewTime(f.LastSeen)
	return v1alpha1.ObservedFlow{Source: peer(f.Src), Destination: peer(f.Dst), Protocol: ProtocolName(f.Protocol),
		Port: int32(f.DstPort), Count: f.Count, FirstSeen: &first, LastSeen: &last, Rule: RuleName(f.Direction, f.Rule)}
}

func peer(p observe.Peer) string {
	if p.Name != "" {
		return p.Namespace + "/" + p.Name
	}
	if p.Addr.IsValid() {
		return p.Addr.String()
	}
	return "unknown"
}

// ProtocolName names an IP protocol as NodeReports and the CLI do.
func ProtocolName(p uint8) string {
	switch p {
	case engine.ProtoTCP:
		return "TCP"
	case engine.ProtoUDP:
		return "UDP"
	case engine.ProtoSCTP:
		return "SCTP"
	case engine.ProtoICMP:
		return "ICMP"
	case engine.ProtoICMPv6:
		return "ICMPv6"
	case engine.ProtoUDPLite:
		return "UDPLite"
	}
	return strconv.Itoa(int(p))
}

// RuleName is ObservedFlow.Rule: "ingress[2]", "egress[0]", or "default deny" when no rule of
// the policy decided (the tier's end, or an invalid policy failing closed).
func RuleName(dir engine.Direction, rule int) string {
	if rule == observe.RuleEndOfTier {
		return "default deny"
	}
	d := "ingress"
	if dir == engine.Egress {
		d = "egress"
	}
	return d + "[" + strconv.Itoa(rule) + "]"
}
