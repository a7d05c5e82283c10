package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// observation is what `observe` prints: the node reports summed per policy.
type observation struct {
	// Nodes are the nodes with a report; DroppedSamples their lost samples summed (the counts are
	// lower bounds when it is not 0).
	Nodes          []string            `json:"nodes"`
	DroppedSamples int64               `json:"droppedSamples"`
	Policies       []policyObservation `json:"policies"`
}

// policyObservation is one policy's counts summed over the nodes that count the same candidate
// generation, phase and window; nodes reporting anything else are listed, not summed.
type policyObservation struct {
	Kind               v1alpha1.PolicyKind   `json:"kind"`
	Namespace          string                `json:"namespace,omitempty"`
	Name               string                `json:"name"`
	Generation         int64                 `json:"generation"`
	Phase              v1alpha1.RolloutPhase `json:"phase,omitempty"`
	EnforcedGeneration int64                 `json:"enforcedGeneration,omitempty"`
	WindowStart        *metav1.Time          `json:"windowStart,omitempty"`
	// Nodes are the nodes summed; OtherNodes those reporting another generation, phase or window.
	Nodes      []string            `json:"nodes"`
	OtherNodes []string            `json:"otherNodes,omitempty"`
	Window     v1alpha1.FlowCounts `json:"window"`
	Recent     v1alpha1.FlowCounts `json:"recent"`
	// Flows are the most frequent would-deny (or canary-denied) flows of the window, summed.
	Flows []v1alpha1.ObservedFlow `json:"flows,omitempty"`
	// Truncated: a node cut flows or policies from its report, so the flows may miss some.
	Truncated bool `json:"truncated,omitempty"`
}

func (p *policyObservation) ref() string {
	if p.Namespace == "" {
		return string(p.Kind) + "/" + p.Name
	}
	return string(p.Kind) + "/" + p.Namespace + "/" + p.Name
}

// observeFilter selects policies: Namespace (NetworkPolicies of that namespace only, no
// GlobalNetworkPolicies) and Name (any kind) when set.
type observeFilter struct {
	namespace, name string
}

func (f observeFilter) match(p *v1alpha1.PolicyReport) bool {
	if f.namespace != "" && (p.Kind != v1alpha1.KindNetworkPolicy || p.Namespace != f.namespace) {
		return false
	}
	return f.name == "" || p.Name == f.name
}

type mention struct {
	node      string
	at        time.Time
	truncated bool
	report    *v1alpha1.PolicyReport
}

// summarize sums the reports per policy. Each node counts once per policy (its newest mention,
// when shards repeat one); the generation shown is the newest any node reports, with its newest
// window, and only nodes counting that generation, phase and window are summed.
func summarize(reports []v1alpha1.NodeReport, f observeFilter, top int) observation {
	out := observation{Nodes: []string{}, Policies: []policyObservation{}}
	nodeSeen := map[string]bool{}
	dropped := map[string]int64{}
	type key struct {
		kind     v1alpha1.PolicyKind
		ns, name string
	}
	byPolicy := map[key]map[string]mention{}
	for i := range reports {
		spec := &reports[i].Spec
		node := cmp.Or(spec.NodeName, reports[i].Name)
		if !nodeSeen[node] {
			nodeSeen[node] = true
			out.Nodes = append(out.Nodes, node)
		}
		dropped[node] = max(dropped[node], spec.DroppedSamples) // shards repeat the node's count
		for j := range spec.Policies {
			p := &spec.Policies[j]
			if !f.match(p) {
				continue
			}
			k := key{p.Kind, p.Namespace, p.Name}
			if byPolicy[k] == nil {
				byPolicy[k] = map[string]mention{}
			}
			if old, ok := byPolicy[k][node]; ok && !spec.ReportTime.After(old.at) {
				continue
			}
			byPolicy[k][node] = mention{node: node, at: spec.ReportTime.Time, truncated: spec.Truncated, report: p}
		}
	}
	slices.Sort(out.Nodes)
	for _, d := range dropped {
		out.DroppedSamples += d
	}
	for k, mentions := range byPolicy {
		// The reference: the newest generation, then the newest window, then the newest report.
		var ref *mention
		for _, m := range mentions {
			if ref == nil || newer(m, *ref) {
				ref = &m
			}
		}
		po := policyObservation{Kind: k.kind, Namespace: k.ns, Name: k.name, Generation: ref.report.Generation,
			Phase: ref.report.Phase, EnforcedGeneration: ref.report.EnforcedGeneration, WindowStart: ref.report.WindowStart,
			Nodes: []string{}}
		flows := map[flowID]*v1alpha1.ObservedFlow{}
		for _, m := range mentions {
			r := m.report
			if r.Generation != po.Generation || r.Phase != po.Phase || !sameTime(r.WindowStart, po.WindowStart) {
				po.OtherNodes = append(po.OtherNodes, m.node)
				continue
			}
			po.Nodes = append(po.Nodes, m.node)
			po.Window = addCounts(po.Window, r.Window)
			po.Recent = addCounts(po.Recent, r.Recent)
			po.Truncated = po.Truncated || m.truncated
			for _, fl := range r.WouldDenyFlows {
				id := flowID{fl.Source, fl.Destination, fl.Protocol, fl.Port, fl.Rule}
				s := flows[id]
				if s == nil {
					c := fl
					c.Count = 0
					s = &c
					flows[id] = s
				}
				s.Count += fl.Count
				s.FirstSeen = earliest(s.FirstSeen, fl.FirstSeen)
				s.LastSeen = latest(s.LastSeen, fl.LastSeen)
			}
		}
		slices.Sort(po.Nodes)
		slices.Sort(po.OtherNodes)
		for _, s := range flows {
			po.Flows = append(po.Flows, *s)
		}
		slices.SortFunc(po.Flows, func(a, b v1alpha1.ObservedFlow) int {
			return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Source, b.Source), cmp.Compare(a.Destination, b.Destination),
				cmp.Compare(a.Protocol, b.Protocol), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Rule, b.Rule))
		})
		if len(po.Flows) > top {
			po.Flows = po.Flows[:top]
		}
		out.Policies = append(out.Policies, po)
	}
	slices.SortFunc(out.Policies, func(a, b policyObservation) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

type flowID struct {
	src, dst, proto string
	port            int32
	rule            string
}

func newer(a, b mention) bool {
	if a.report.Generation != b.report.Generation {
		return a.report.Generation > b.report.Generation
	}
	aw, bw := windowTime(a.report.WindowStart), windowTime(b.report.WindowStart)
	if !aw.Equal(bw) {
		return aw.After(bw)
	}
	if !a.at.Equal(b.at) {
		return a.at.After(b.at)
	}
	return a.node < b.node
}

func windowTime(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func sameTime(a, b *metav1.Time) bool { return windowTime(a).Equal(windowTime(b)) }

func earliest(a, b *metav1.Time) *metav1.Time {
	if a == nil || (b != nil && b.Before(a)) {
		return b
	}
	return a
}

func latest(a, b *metav1.Time) *metav1.Time {
	if a == nil || (b != nil && a.Before(b)) {
		return b
	}
	return a
}

func addCounts(a, b v1alpha1.FlowCounts) v1alpha1.FlowCounts {
	return v1alpha1.FlowCounts{WouldDeny: a.WouldDeny + b.WouldDeny, Denied: a.Denied + b.Denied, Allowed: a.Allowed + b.Allowed}
}

// writeObservation prints the policies as a table, then each policy's top flows.
func writeObservation(w io.Writer, o observation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "POLICY\tGENERATION\tPHASE\tENFORCED\tNODES\tWOULD-DENY\tDENIED\tALLOWED\tWINDOW START")
	for i := range o.Policies {
		p := &o.Policies[i]
		ws := "-"
		if p.WindowStart != nil {
			ws = p.WindowStart.UTC().Format(time.RFC3339)
		}
		nodes := strconv.Itoa(len(p.Nodes)) + "/" + strconv.Itoa(len(p.Nodes)+len(p.OtherNodes))
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%d\t%d\t%d\t%s\n", escapeControl(p.ref()), p.Generation, cmp.Or(string(p.Phase), "-"),
			p.EnforcedGeneration, nodes, p.Window.WouldDeny, p.Window.Denied, p.Window.Allowed, ws)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i := range o.Policies {
		p := &o.Policies[i]
		if len(p.OtherNodes) > 0 {
			fmt.Fprintf(w, "\n%s: not summed, counting another generation, phase or window: %s\n", escapeControl(p.ref()), escapeControl(strings.Join(p.OtherNodes, ", ")))
		}
		if len(p.Flows) == 0 {
			continue
		}
		verb := "would deny"
		if p.Phase == v1alpha1.PhaseStaged || p.Phase == v1alpha1.PhaseEnforced {
			verb = "would deny or denied"
		}
		fmt.Fprintf(w, "\n%s, generation %d: the flows it %s most\n", escapeControl(p.ref()), p.Generation, verb)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  COUNT\tSOURCE\tDESTINATION\tPORT\tRULE")
		for _, f := range p.Flows {
			port := f.Protocol
			if f.Port != 0 {
				port += "/" + strconv.Itoa(int(f.Port))
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\n", f.Count, escapeControl(f.Source), escapeControl(f.Destination), escapeControl(port), escapeControl(f.Rule))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if p.Truncated {
			fmt.Fprintln(w, "  (a node cut its report to stay bounded: rarer flows may be missing)")
		}
	}
	fmt.Fprintf(w, "\n%d node(s) reporting", len(o.Nodes))
	if o.DroppedSamples > 0 {
		fmt.Fprintf(w, "; %d sample(s) lost by the enforcers: the counts are lower bounds", o.DroppedSamples)
	}
	_, err := fmt.Fprintln(w, ".")
	return err
}
