package rollout

import (
	"fmt"
	"math/rand"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// The simulation plays a story against the planner: a policy, its enforcer nodes and the operator's
// reconciles, one step a minute. Nodes behave as the contract says: before each report a node reads
// the latest status, programs it (resetting its counters when the generation, phase, enforced
// generation or window changes) and counts the traffic the story gives it for the step — as would-deny
// where the candidate is shadowed, as denied where it is enforced (the canary share in Staged).

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

const (
	interval   = time.Minute
	auditMin   = 5 * time.Minute
	stagedMin  = 5 * time.Minute
	stepBackAt = int64(10) // denied per minute
	allowed    = int64(100)
)

// event changes the world at a step; name is what the narrative prints.
type event struct {
	name  string
	apply func(*world)
}

type story struct {
	name   string
	nodes  []string
	steps  int // minutes 0..steps
	setup  func(*v1alpha1.RolloutSpec)
	events map[int][]event
}

type node struct {
	silent bool
	rep    NodeReport
	has    bool
}

type world struct {
	t        time.Time
	gen      int64
	spec     v1alpha1.RolloutSpec
	ann      map[string]string
	invalid  string
	deleting bool
	nodes    map[string]*node
	names    []string
	bad      map[string]int64 // this step's connections the candidate denies, per node
	status   v1alpha1.PolicyStatus
	// reached lists the generations that reached Enforced, for the safety invariant.
	reached map[int64]bool
}

func newWorld(s story) *world {
	spec := v1alpha1.RolloutSpec{
		Audit:    &v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: auditMin}, MaxDenials: ptr.To[int64](0)},
		Staged:   &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: stagedMin}, MaxDenials: ptr.To[int64](0)}, CanaryPercent: ptr.To[int32](50)},
		Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To(stepBackAt)},
	}
	if s.setup != nil {
		s.setup(&spec)
	}
	w := &world{gen: 1, spec: spec, ann: map[string]string{}, nodes: map[string]*node{}, reached: map[int64]bool{0: true}}
	for _, n := range s.nodes {
		w.nodes[n] = &node{}
		w.names = append(w.names, n)
	}
	return w
}

// Events.

func edit(what string, fn func(*v1alpha1.RolloutSpec)) event {
	return event{"edit " + what, func(w *world) {
		w.gen++
		if fn != nil {
			fn(&w.spec)
		}
	}}
}

func deny(n string, count int64) event {
	return event{fmt.Sprintf("%s denies %d", n, count), func(w *world) { w.bad[n] += count }}
}

func silence(n string) event {
	return event{n + " silent", func(w *world) { w.nodes[n].silent = true }}
}
func revive(n string) event { return event{n + " back", func(w *world) { w.nodes[n].silent = false }} }

func request(verb, key string) event {
	return event{"request " + verb, func(w *world) { w.ann[key] = w.t.UTC().Format(RequestToken) }}
}

func deleteIt() event { return event{"delete", func(w *world) { w.deleting = true }} }

func invalidate(msg string) event {
	return event{"edit invalid", func(w *world) { w.gen++; w.invalid = msg }}
}

func editValid() event { return event{"edit fixed", func(w *world) { w.gen++; w.invalid = "" }} }

// report makes node n program the current status and report on the step's traffic.
func (w *world) report(n string, at time.Time) {
	nd := w.nodes[n]
	st := w.status
	ws := time.Time{}
	if st.Evidence != nil && st.Evidence.WindowStart != nil {
		ws = st.Evidence.WindowStart.Time
	}
	gen, phase := st.ObservedGeneration, st.Phase
	if phase == "" {
		// No phase yet: Audit when Progressive, Enforced when Immediate (the contract's default).
		gen, phase = w.gen, v1alpha1.PhaseAudit
		if w.spec.Strategy == v1alpha1.RolloutImmediate {
			phase = v1alpha1.PhaseEnforced
		}
	}
	r := nd.rep
	if !nd.has || r.Generation != gen || r.Phase != phase || r.EnforcedGeneration != st.EnforcedGeneration || !r.WindowStart.Equal(ws) {
		r = NodeReport{Node: n, Generation: gen, Phase: phase, EnforcedGeneration: st.EnforcedGeneration, WindowStart: ws}
	}
	bad := w.bad[n]
	var c Counts
	switch phase {
	case v1alpha1.PhaseAudit:
		c.WouldDeny = bad
	case v1alpha1.PhaseStaged:
		c.Denied = bad * int64(st.CanaryPercent) / 100
		c.WouldDeny = bad - c.Denied
	case v1alpha1.PhaseEnforced:
		c.Denied = bad
	}
	c.Allowed = allowed
	r.Window = r.Window.add(c)
	r.Recent = c
	r.ObservedAt = at
	nd.rep, nd.has = r, true
}

func (w *world) input(now time.Time) Input {
	in := Input{
		Generation: w.gen, Deleting: w.deleting, Spec: w.spec.DeepCopy(), Status: *w.status.DeepCopy(),
		Annotations: map[string]string{}, Invalid: w.invalid, Nodes: append([]string(nil), w.names...),
		ReportInterval: interval, Now: now,
	}
	for k, v := range w.ann {
		in.Annotations[k] = v
	}
	for _, n := range w.names {
		if nd := w.nodes[n]; nd.has {
			in.Reports = append(in.Reports, nd.rep)
		}
	}
	return in
}

// jitter perturbs a run; the zero value is the exact run the goldens record.
type jitter struct {
	rng *rand.Rand
}

func (j jitter) dur(most time.Duration) time.Duration {
	if j.rng == nil {
		return 0
	}
	return time.Duration(j.rng.Int63n(int64(most)))
}

func (j jitter) shuffle(s []string) {
	if j.rng != nil {
		j.rng.Shuffle(len(s), func(a, b int) { s[a], s[b] = s[b], s[a] })
	}
}

// observation is one decision as the invariants see it.
type observation struct {
	line     string
	in       Input
	res      Result
	minute   int
	phase    v1alpha1.RolloutPhase
	enforced int64
}

// play runs a story and returns its narrative lines and decisions. With jitter, the events of a step
// are applied in random order, node reports are written up to 20 s before the step and in random
// order, the operator decides up to 20 s after it, and sometimes decides once more half a minute later
// with nothing new (a resync).
func play(s story, j jitter) []observation {
	w := newWorld(s)
	var obs []observation
	for m := 0; m <= s.steps; m++ {
		w.t = epoch.Add(time.Duration(m) * time.Minute)
		w.bad = map[string]int64{}
		var names []string
		evs := append([]event(nil), s.events[m]...)
		if j.rng != nil {
			// Events of one step are simultaneous: any order must tell the same story.
			j.rng.Shuffle(len(evs), func(a, b int) { evs[a], evs[b] = evs[b], evs[a] })
		}
		for _, e := range evs {
			e.apply(w)
			names = append(names, e.name)
		}
		order := append([]string(nil), w.names...)
		j.shuffle(order)
		for _, n := range order {
			if !w.nodes[n].silent {
				w.report(n, w.t.Add(-j.dur(20*time.Second)))
			}
		}
		obs = append(obs, w.decide(m, w.t.Add(j.dur(20*time.Second)), names, j))
		if j.rng != nil && j.rng.Intn(3) == 0 {
			obs = append(obs, w.decide(m, w.t.Add(30*time.Second), []string{"resync"}, j))
		}
	}
	return obs
}

func (w *world) decide(m int, now time.Time, events []string, j jitter) observation {
	in := w.input(now)
	j.shuffle(in.Nodes)
	if j.rng != nil {
		j.rng.Shuffle(len(in.Reports), func(a, b int) { in.Reports[a], in.Reports[b] = in.Reports[b], in.Reports[a] })
	}
	res := Plan(in)
	w.status = res.Status
	if res.Status.Phase == v1alpha1.PhaseEnforced {
		w.reached[res.Status.EnforcedGeneration] = true
	}
	return observation{line: narrate(m, w, in, res, events), in: in, res: res, minute: m,
		phase: res.Status.Phase, enforced: res.Status.EnforcedGeneration}
}

// narrate prints one step: time, events, evidence, decision, reason, and what GitOps tools see.
func narrate(m int, w *world, in Input, res Result, events []string) string {
	v := viewNodes(in)
	fresh := len(v.fresh)
	var rc Counts
	for _, r := range in.Reports {
		if _, ok := v.fresh[r.Node]; ok {
			rc = rc.add(r.Recent)
		}
	}
	ev := "-"
	if len(events) > 0 {
		ev = strings.Join(events, ", ")
	}
	st := res.Status
	// seen is the window the decision judged: the input status's window, summed over trusted reports.
	var seen Counts
	if in.Status.Evidence != nil && in.Status.Evidence.WindowStart != nil {
		seen = v.window(in.Generation, in.Status.Phase, in.Status.Evidence.WindowStart.Time)
	}
	next := "-"
	if !res.RequeueAt.IsZero() {
		next = fmtAt(res.RequeueAt)
	}
	d := res.Decision
	ctl := ""
	if len(d.Controls) > 0 {
		ctl = " controls=" + strings.Join(d.Controls, "+")
	}
	return fmt.Sprintf("%s gen=%d [%s] fresh=%d/%d recent(wd=%d den=%d) window(wd=%d den=%d) => %s %s->%s enforced=%d prev=%d%s next=%s | %s: %s | %s",
		fmtAt(in.Now), in.Generation, ev, fresh, len(v.nodes), rc.WouldDeny, rc.Denied, seen.WouldDeny, seen.Denied,
		d.Action, orNone(d.From), orNone(d.To), st.EnforcedGeneration, st.PreviousEnforcedGeneration, ctl, next,
		d.Reason, d.Message, conds(st))
}

func fmtAt(t time.Time) string {
	d := t.Sub(epoch)
	return fmt.Sprintf("%02d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

func orNone(p v1alpha1.RolloutPhase) string {
	if p == "" {
		return "none"
	}
	return string(p)
}

// conds prints the conditions GitOps tools read, Type=Status(Reason), in a fixed order.
func conds(st v1alpha1.PolicyStatus) string {
	var out []string
	for _, t := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionProgressing, v1alpha1.ConditionDegraded, v1alpha1.ConditionReconciling, v1alpha1.ConditionStalled} {
		if c := meta.FindStatusCondition(st.Conditions, t); c != nil {
			out = append(out, fmt.Sprintf("%s=%s(%s)", t, c.Status, c.Reason))
		}
	}
	return strings.Join(out, " ")
}
