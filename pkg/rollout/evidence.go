package rollout

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// nodeView sorts the reports of the desired nodes into what can be trusted. Reports from nodes that
// are not desired are ignored; a node with several reports keeps its newest.
type nodeView struct {
	fresh   map[string]NodeReport
	stale   []string // desired nodes whose newest report is too old
	missing []string // desired nodes with no report at all
	nodes   []string // desired nodes, sorted
}

func viewNodes(in Input) nodeView {
	v := nodeView{fresh: map[string]NodeReport{}}
	desired := map[string]bool{}
	for _, n := range in.Nodes {
		if !desired[n] {
			desired[n] = true
			v.nodes = append(v.nodes, n)
		}
	}
	sort.Strings(v.nodes)
	newest := map[string]NodeReport{}
	for _, r := range in.Reports {
		if !desired[r.Node] {
			continue
		}
		if old, ok := newest[r.Node]; ok && !r.ObservedAt.After(old.ObservedAt) {
			continue
		}
		newest[r.Node] = r
	}
	staleBefore := in.Now.Add(-StaleReports * in.ReportInterval)
	for _, n := range v.nodes {
		r, ok := newest[n]
		switch {
		case !ok:
			v.missing = append(v.missing, n)
		case in.ReportInterval <= 0 || r.ObservedAt.Before(staleBefore):
			v.stale = append(v.stale, n)
		default:
			v.fresh[n] = r
		}
	}
	return v
}

// about returns the fresh reports of nodes acting on (generation, phase), sorted by node.
func (v nodeView) about(gen int64, phase v1alpha1.RolloutPhase) []NodeReport {
	var out []NodeReport
	for _, n := range v.nodes {
		if r, ok := v.fresh[n]; ok && r.Generation == gen && r.Phase == phase {
			out = append(out, r)
		}
	}
	return out
}

// window sums the Window counts of the fresh reports counting (generation, phase) from windowStart.
func (v nodeView) window(gen int64, phase v1alpha1.RolloutPhase, windowStart time.Time) Counts {
	var c Counts
	for _, r := range v.about(gen, phase) {
		if r.WindowStart.Equal(windowStart) {
			c = c.add(r.Window)
		}
	}
	return c
}

// deniedPerMinute is the candidate's denial rate over the last report interval, summed over the fresh
// reports of nodes acting on (generation, phase) since since.
func (v nodeView) deniedPerMinute(gen int64, phase v1alpha1.RolloutPhase, since time.Time, interval time.Duration) (float64, int64) {
	var denied int64
	for _, r := range v.about(gen, phase) {
		if !r.ObservedAt.Before(since) {
			denied += r.Recent.Denied
		}
	}
	if interval <= 0 {
		return 0, denied
	}
	return float64(denied) * float64(time.Minute) / float64(interval), denied
}

// coverage says which desired nodes have not yet reported on the whole window [windowStart, end]
// for (generation, phase).
func (v nodeView) uncovered(gen int64, phase v1alpha1.RolloutPhase, windowStart, end time.Time) []string {
	var out []string
	for _, n := range v.nodes {
		r, ok := v.fresh[n]
		if !ok {
			continue // stale or missing: reported separately
		}
		if r.Generation != gen || r.Phase != phase || !r.WindowStart.Equal(windowStart) || r.ObservedAt.Before(end) {
			out = append(out, n)
		}
	}
	return out
}

// programmed lists the desired nodes whose fresh report shows the status's generation, phase and
// enforced generation programmed.
func (v nodeView) programmed(st *v1alpha1.PolicyStatus, gen int64) (done, waiting []string) {
	for _, n := range v.nodes {
		r, ok := v.fresh[n]
		if ok && r.Generation == gen && r.Phase == st.Phase && r.EnforcedGeneration == st.EnforcedGeneration {
			done = append(done, n)
		} else {
			waiting = append(waiting, n)
		}
	}
	return done, waiting
}

// names lists up to five node names, then how many more, for messages of bounded length.
func names(ns []string) string {
	const most = 5
	if len(ns) <= most {
		return strings.Join(ns, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ns[:most], ", "), len(ns)-most)
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}
