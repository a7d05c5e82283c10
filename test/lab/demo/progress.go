package demo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// progressEvery is how often a wait prints where it is: the user sees it moving, never silence.
const progressEvery = 3 * time.Second

// during runs fn, printing "  Ns: what" every progressEvery until it returns, so that a long step
// (starting the control plane) is not silent.
func (n *narrator) during(what string, fn func() error) error {
	done := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(n.out, "  %3.0fs: %s\n", time.Since(start).Seconds(), what)
			}
		}
	}()
	err := fn()
	close(done)
	<-finished
	return err
}

// progressLine says where the progressive policy's current phase is, as one line: the time since
// its evidence window began against the window's length, the evidence counted so far, how fresh
// each node's report on the policy's generation and phase is, and the operator's last reason.
func progressLine(now time.Time, p *v1alpha1.NetworkPolicy, window time.Duration, reports []v1alpha1.NodeReport) string {
	var b strings.Builder
	st := p.Status
	since := st.PhaseSince
	if st.Evidence != nil && st.Evidence.WindowStart != nil {
		since = st.Evidence.WindowStart
	}
	fmt.Fprintf(&b, "%s", cmpPhase(st.Phase))
	if since != nil && (st.Phase == v1alpha1.PhaseAudit || st.Phase == v1alpha1.PhaseStaged) {
		fmt.Fprintf(&b, " %v of its %v window", now.Sub(since.Time).Truncate(time.Second), window)
	}
	if ev := st.Evidence; ev != nil {
		fmt.Fprintf(&b, " | evidence: %d would-deny, %d denied, %d allowed", ev.WouldDeny, ev.Denied, ev.Allowed)
	}
	b.WriteString(" | reports: ")
	b.WriteString(reportAges(now, p, reports))
	if c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionProgressing); c != nil {
		fmt.Fprintf(&b, " | operator: %s", c.Reason)
	}
	return b.String()
}

func cmpPhase(p v1alpha1.RolloutPhase) string {
	if p == "" {
		return "no phase yet"
	}
	return string(p)
}

// reportAges lists, per node, the age of its report on the policy's current generation and phase,
// or what it reports instead.
func reportAges(now time.Time, p *v1alpha1.NetworkPolicy, reports []v1alpha1.NodeReport) string {
	var out []string
	for _, r := range reports {
		i := slices.IndexFunc(r.Spec.Policies, func(x v1alpha1.PolicyReport) bool {
			return x.Kind == v1alpha1.KindNetworkPolicy && x.Namespace == p.Namespace && x.Name == p.Name
		})
		node := r.Spec.NodeName
		switch {
		case i < 0:
			out = append(out, node+" none on it")
		case r.Spec.Policies[i].Generation != p.Generation || r.Spec.Policies[i].Phase != p.Status.Phase:
			x := r.Spec.Policies[i]
			out = append(out, fmt.Sprintf("%s still generation %d %s", node, x.Generation, cmpPhase(x.Phase)))
		default:
			out = append(out, fmt.Sprintf("%s %v ago", node, now.Sub(r.Spec.ReportTime.Time).Truncate(time.Second)))
		}
	}
	if len(out) == 0 {
		return "none yet"
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// listReports reads the NodeReports.
func (d *demo) listReports(ctx context.Context) ([]v1alpha1.NodeReport, error) {
	var list v1alpha1.NodeReportList
	if err := d.l.Client.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing node reports: %w", err)
	}
	return list.Items, nil
}
