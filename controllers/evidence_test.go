package controllers

import (
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

var (
	t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ws = metav1.NewTime(t0)
)

func flow(src, dst string, port int32, n int64) v1alpha1.ObservedFlow {
	return v1alpha1.ObservedFlow{Source: src, Destination: dst, Protocol: "TCP", Port: port, Count: n}
}

func report(name, node string, at time.Time, ps ...v1alpha1.PolicyReport) v1alpha1.NodeReport {
	nr := v1alpha1.NodeReport{Spec: v1alpha1.NodeReportSpec{NodeName: node, ReportTime: metav1.NewMicroTime(at), Policies: ps}}
	nr.Name = name
	return nr
}

func mention(kind v1alpha1.PolicyKind, ns, name string, gen int64, flows ...v1alpha1.ObservedFlow) v1alpha1.PolicyReport {
	return v1alpha1.PolicyReport{Kind: kind, Namespace: ns, Name: name, Generation: gen, Phase: v1alpha1.PhaseAudit,
		WindowStart: &ws, Window: v1alpha1.FlowCounts{WouldDeny: int64(len(flows))}, WouldDenyFlows: flows}
}

func TestGatherEvidence(t *testing.T) {
	np := policyRef{kind: v1alpha1.KindNetworkPolicy, namespace: "shop", name: "web"}
	reports := []v1alpha1.NodeReport{
		report("b", "b", t0.Add(time.Second), mention(v1alpha1.KindNetworkPolicy, "shop", "web", 2, flow("x", "y", 80, 3))),
		// A GlobalNetworkPolicy of the same name, and the same name in another namespace, are other policies.
		report("a", "a", t0, mention(v1alpha1.KindGlobalNetworkPolicy, "", "web", 2), mention(v1alpha1.KindNetworkPolicy, "other", "web", 2)),
		// A shard of node b (spec.nodeName) and a report without nodeName (named after its node).
		report("b-1", "b", t0.Add(2*time.Second), mention(v1alpha1.KindNetworkPolicy, "shop", "web", 3)),
		report("c", "", t0),
	}
	ev := gatherEvidence(reports, np)
	if want := []string{"a", "b", "c"}; !reflect.DeepEqual(ev.nodes, want) {
		t.Errorf("nodes = %v, want %v", ev.nodes, want)
	}
	want := []rollout.NodeReport{
		{Node: "b", ObservedAt: t0.Add(time.Second), Generation: 2, Phase: v1alpha1.PhaseAudit, WindowStart: t0, Window: rollout.Counts{WouldDeny: 1}},
		{Node: "b", ObservedAt: t0.Add(2 * time.Second), Generation: 3, Phase: v1alpha1.PhaseAudit, WindowStart: t0},
	}
	if !reflect.DeepEqual(ev.reports, want) {
		t.Errorf("reports =\n%+v\nwant\n%+v", ev.reports, want)
	}
	if len(ev.flows) != 1 || ev.flows[0].node != "b" || ev.flows[0].flows[0].Count != 3 {
		t.Errorf("flows = %+v, want node b's one flow", ev.flows)
	}
}

func TestTopFlows(t *testing.T) {
	ref := policyRef{kind: v1alpha1.KindNetworkPolicy, namespace: "shop", name: "web"}
	st := &v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, Evidence: &v1alpha1.Evidence{WindowStart: &ws}}
	many := make([]v1alpha1.ObservedFlow, 0, 12)
	for i := range 12 {
		many = append(many, flow("m", "n", int32(1000+i), 1))
	}
	for _, tc := range []struct {
		name    string
		reports []v1alpha1.NodeReport
		st      *v1alpha1.PolicyStatus
		want    []v1alpha1.FlowSample
	}{{
		name: "summed over nodes, most frequent first, ties by key",
		reports: []v1alpha1.NodeReport{
			report("a", "a", t0, mention(ref.kind, "shop", "web", 1, flow("x", "y", 80, 2), flow("p", "q", 53, 1))),
			report("b", "b", t0, mention(ref.kind, "shop", "web", 1, flow("x", "y", 80, 1), flow("a", "q", 53, 1))),
		},
		st: st,
		want: []v1alpha1.FlowSample{
			{Source: "x", Destination: "y", Protocol: "TCP", Port: 80, Count: 3},
			{Source: "a", Destination: "q", Protocol: "TCP", Port: 53, Count: 1},
			{Source: "p", Destination: "q", Protocol: "TCP", Port: 53, Count: 1},
		},
	}, {
		name:    "another generation and a stale report do not count",
		reports: []v1alpha1.NodeReport{report("a", "a", t0, mention(ref.kind, "shop", "web", 2, flow("x", "y", 80, 2))), report("s", "s", t0.Add(-time.Hour), mention(ref.kind, "shop", "web", 1, flow("x", "y", 80, 2)))},
		st:      st,
	}, {
		name:    "no window: nothing",
		reports: []v1alpha1.NodeReport{report("a", "a", t0, mention(ref.kind, "shop", "web", 1, flow("x", "y", 80, 2)))},
		st:      &v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit},
	}, {
		name:    "at most ten",
		reports: []v1alpha1.NodeReport{report("a", "a", t0, mention(ref.kind, "shop", "web", 1, many...))},
		st:      st,
		want: func() []v1alpha1.FlowSample {
			var out []v1alpha1.FlowSample
			for i := range 10 {
				out = append(out, v1alpha1.FlowSample{Source: "m", Destination: "n", Protocol: "TCP", Port: int32(1000 + i), Count: 1})
			}
			return out
		}(),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got := topFlows(gatherEvidence(tc.reports, ref), tc.st, 1, t0.Add(-30*time.Second))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("topFlows =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestRevisionName(t *testing.T) {
	uid := "0123abcd-0000-0000-0000-000000000000"
	if got := revisionName("web", uid, 7); got != "web-0123abcd-7" {
		t.Errorf("revisionName = %q", got)
	}
	long := revisionName(strings.Repeat("n", 253), uid, 12)
	if len(long) != 253 || !strings.HasSuffix(long, "-0123abcd-12") {
		t.Errorf("long name = %q (%d bytes), want 253 bytes ending -0123abcd-12", long, len(long))
	}
}

func TestWantedRevisions(t *testing.T) {
	for _, tc := range []struct {
		in   []int64
		want []int64
	}{{nil, nil}, {[]int64{0, 0}, nil}, {[]int64{3, 2, 3, 0, 1}, []int64{3, 2, 1}}} {
		if got := wantedRevisions(tc.in...); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("wantedRevisions(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestInvalidReason(t *testing.T) {
	if got := invalidReason(nil, nil); got != "" {
		t.Errorf("no errors: %q", got)
	}
	long := invalidReason(errString(strings.Repeat("x", 5000)))
	if len(long) > maxInvalidMessage+len("…") {
		t.Errorf("message not bounded: %d bytes", len(long))
	}
	if got := invalidReason(errString("a"), nil, errString("b")); got != "a; b" {
		t.Errorf("joined = %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

func TestCompile(t *testing.T) {
	np := &v1alpha1.NetworkPolicy{}
	np.Name, np.Namespace = "web", "shop"
	if got := networkPolicyKind().compile(np); got != "" {
		t.Errorf("empty policy: invalid %q", got)
	}
	np.Spec.Selector = "app == 'web" // unterminated string
	if got := networkPolicyKind().compile(np); !strings.Contains(got, "spec.selector") {
		t.Errorf("bad selector: invalid %q, want a message naming spec.selector", got)
	}
	gnp := &v1alpha1.GlobalNetworkPolicy{}
	gnp.Name = "all"
	gnp.Spec.NamespaceSelector = "a ==="
	if got := globalNetworkPolicyKind().compile(gnp); !strings.Contains(got, "spec.namespaceSelector") {
		t.Errorf("bad namespace selector: invalid %q, want a message naming spec.namespaceSelector", got)
	}
}
