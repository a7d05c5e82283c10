package observe

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Observer evaluates observed flows against both views of the engine and counts the outcome per
// policy generation and rule. It is safe for concurrent use: evaluation runs outside its lock
// (the engine is itself concurrency-safe) and one short critical section updates the counts.
type Observer struct {
	eval    Evaluator
	gens    Generations
	limits  Limits
	metrics *Metrics
	pool    sync.Pool // *engine.Comparison, reused across evaluations

	mu           sync.Mutex
	policies     map[engine.PolicyKey]*policyState
	policiesCut  int64
	unattributed int64
	errors       int64
}

type policyState struct {
	windowStart, previousStart time.Time
	window, previous           map[int64]*Counts
	interval, recent           map[int64]*Counts
	rules                      map[RuleKey]*Counts
	rulesCut                   int64
	// flows are the window's would-deny and denied flows, at most Limits.TrackedFlows;
	// flowsCut counts those evicted.
	flows    map[FlowKey]*FlowSample
	flowsCut int64
	// series caches the policy's palisade_flows_total counters by slot and verdict: a label
	// lookup per observed flow costs as much as an evaluation.
	series map[seriesKey]prometheus.Counter
}

type seriesKey struct {
	slot    engine.Slot
	verdict Verdict
}

// counter returns the policy's palisade_flows_total series for slot and verdict (a no-op counter
// without metrics).
func (st *policyState) counter(m *Metrics, key engine.PolicyKey, slot engine.Slot, v Verdict) prometheus.Counter {
	k := seriesKey{slot, v}
	c := st.series[k]
	if c == nil {
		if m == nil {
			c = noCounter{}
		} else {
			c = m.Flows.WithLabelValues(key.String(), slot.String(), string(v))
		}
		if st.series == nil {
			st.series = map[seriesKey]prometheus.Counter{}
		}
		st.series[k] = c
	}
	return c
}

// noCounter is the counter of an observer without metrics.
type noCounter struct{ prometheus.Counter }

func (noCounter) Inc() {}

// New returns an observer. gens may be nil (every generation counts as 0), metrics too.
func New(eval Evaluator, gens Generations, limits Limits, metrics *Metrics) *Observer {
	if gens == nil {
		gens = GenerationsFunc(func(engine.PolicyKey, engine.Slot) (int64, bool) { return 0, false })
	}
	return &Observer{
		eval: eval, gens: gens, limits: limits.withDefaults(), metrics: metrics,
		pool:     sync.Pool{New: func() any { return new(engine.Comparison) }},
		policies: map[engine.PolicyKey]*policyState{},
	}
}

// attribution is one policy generation and rule credited with an outcome of one flow.
type attribution struct {
	key  engine.PolicyKey
	slot engine.Slot
	rule RuleKey
}

// Observe evaluates one observed new connection seen at time at (the caller's clock or the
// kernel timestamp) in both directions, EnforcedOnly against CandidatesAsEnforced, and counts it:
//   - would-deny, when the enforced view allows and the candidate view denies, to the policy (and
//     rule) that decided the denial in the candidate view;
//   - denied, when the enforced view denies, to the policy and rule that decided it;
//   - allowed, when the candidate view allows, to every candidate generation that saw the flow.
//
// It returns the engine's error (and counts it) when the flow cannot be evaluated.
func (o *Observer) Observe(f engine.Flow, at time.Time) error {
	c, _ := o.pool.Get().(*engine.Comparison)
	defer o.pool.Put(c)
	if err := o.eval.EvaluateBothInto(c, f); err != nil {
		o.failed()
		return err
	}
	o.record(c, f, at)
	return nil
}

// ObserveSide is Observe for one direction only, the side of the flow a node observed (Ingress:
// at the destination pod, Egress: at the source pod), with the enforced view evaluated by the
// dataplane's chooser (a Canary enforces a Staged candidate on its slice, so a canary pod's
// denial counts as denied by the candidate generation) and the candidate view by
// CandidatesAsEnforced. The other direction is neither evaluated for counts nor credited: the
// node owning the other side counts it, so sums over nodes count each direction once.
func (o *Observer) ObserveSide(f engine.Flow, dir engine.Direction, enforced engine.Chooser, at time.Time) error {
	c, _ := o.pool.Get().(*engine.Comparison)
	defer o.pool.Put(c)
	if err := o.eval.EvaluateInto(&c.Enforced, f, enforced); err != nil {
		o.failed()
		return err
	}
	if err := o.eval.EvaluateInto(&c.Candidate, f, engine.CandidatesAsEnforced); err != nil {
		o.failed()
		return err
	}
	onlySide(&c.Enforced, dir)
	onlySide(&c.Candidate, dir)
	o.record(c, f, at)
	return nil
}

// onlySide makes v the verdict of one direction: the other side allows with no policy visited
// (its endpoint stays, it names the flow's peer).
func onlySide(v *engine.Verdict, dir engine.Direction) {
	side, other := &v.Ingress, &v.Egress
	if dir == engine.Egress {
		side, other = &v.Egress, &v.Ingress
	}
	other.Allowed, other.Decision, other.Policies = true, engine.Decision{}, other.Policies[:0]
	v.Allowed = side.Allowed
}

func (o *Observer) failed() {
	o.mu.Lock()
	o.errors++
	o.mu.Unlock()
	o.metrics.error()
}

// record counts one evaluated flow.
func (o *Observer) record(c *engine.Comparison, f engine.Flow, at time.Time) {
	var wouldDeny, denied, allowed []attribution
	var unattributed int64
	if c.WouldDeny() {
		wouldDeny = o.blame(&c.Candidate, engine.SlotCandidate)
		if len(wouldDeny) == 0 {
			unattributed++
		}
	}
	if !c.Enforced.Allowed {
		denied = o.blame(&c.Enforced, engine.SlotEnforced)
		if len(denied) == 0 {
			unattributed++
		}
	}
	if c.Candidate.Allowed {
		allowed = o.candidates(&c.Candidate)
	}

	o.mu.Lock()
	defer o.mu.Unlock()
	o.unattributed += unattributed
	for _, a := range wouldDeny {
		if st := o.count(a, func(c *Counts) { c.WouldDeny++ }, VerdictWouldDeny); st != nil {
			o.sample(st, flowKey(a, VerdictWouldDeny, &c.Candidate, f), at)
		}
	}
	for _, a := range denied {
		if st := o.count(a, func(c *Counts) { c.Denied++ }, VerdictDenied); st != nil {
			o.sample(st, flowKey(a, VerdictDenied, &c.Enforced, f), at)
		}
	}
	for _, a := range allowed {
		o.count(a, func(c *Counts) { c.Allowed++ }, VerdictAllowed)
	}
}

// blame names the policies that decided a denial in v, once per policy. A rule or an invalid
// policy names one; an end-of-tier denial names the policies of that tier that applied,
// preferring the generations of slot prefer (the candidates, for would-deny).
func (o *Observer) blame(v *engine.Verdict, prefer engine.Slot) []attribution {
	var out []attribution
	add := func(a attribution) {
		for _, b := range out {
			if b.key == a.key && b.slot == a.slot {
				return
			}
		}
		out = append(out, a)
	}
	for _, dir := range []engine.Direction{engine.Egress, engine.Ingress} {
		t := &v.Ingress
		if dir == engine.Egress {
			t = &v.Egress
		}
		if t.Allowed {
			continue
		}
		d := &t.Decision
		if d.Policy != nil {
			rule := RuleEndOfTier
			if d.RuleIndex != nil {
				rule = *d.RuleIndex
			}
			slot := prefer
			for i := range t.Policies {
				if t.Policies[i].Policy == *d.Policy {
					slot = t.Policies[i].Generation
				}
			}
			add(o.attr(*d.Policy, slot, dir, rule))
			continue
		}
		if d.Reason != engine.ReasonEndOfTierDeny {
			continue
		}
		preferred := false
		for i := range t.Policies {
			p := &t.Policies[i]
			preferred = preferred || (p.Tier == d.Tier && p.Generation == prefer)
		}
		for i := range t.Policies {
			p := &t.Policies[i]
			if p.Tier == d.Tier && (!preferred || p.Generation == prefer) {
				add(o.attr(p.Policy, p.Generation, dir, RuleEndOfTier))
			}
		}
	}
	return out
}

// candidates names the candidate generations the candidate view visited, once each.
func (o *Observer) candidates(v *engine.Verdict) []attribution {
	var out []attribution
	for _, t := range []*engine.DirectionTrace{&v.Egress, &v.Ingress} {
		for i := range t.Policies {
			p := &t.Policies[i]
			if p.Generation != engine.SlotCandidate || slices.ContainsFunc(out, func(a attribution) bool { return a.key == p.Policy }) {
				continue
			}
			out = append(out, o.attr(p.Policy, p.Generation, engine.Ingress, RuleEndOfTier))
		}
	}
	return out
}

func (o *Observer) attr(key engine.PolicyKey, slot engine.Slot, dir engine.Direction, rule int) attribution {
	gen, _ := o.gens.Generation(key, slot)
	return attribution{key: key, slot: slot, rule: RuleKey{Generation: gen, Direction: dir, Rule: rule}}
}

// count adds one to a's policy generation (and, for denials, its rule) and returns the policy's
// state; nil when the policy cap cut it. Called with o.mu held.
func (o *Observer) count(a attribution, inc func(*Counts), verdict Verdict) *policyState {
	st := o.state(a.key)
	if st == nil {
		o.policiesCut++
		o.metrics.flow(nil, a.slot, verdict)
		return nil
	}
	st.counter(o.metrics, a.key, a.slot, verdict).Inc()
	gen := a.rule.Generation
	inc(counter(st.window, gen))
	inc(counter(st.interval, gen))
	if verdict == VerdictAllowed {
		return st
	}
	if rc, ok := st.rules[a.rule]; ok {
		inc(rc)
	} else if len(st.rules) < o.limits.MaxRules {
		rc = &Counts{}
		inc(rc)
		st.rules[a.rule] = rc
	} else {
		st.rulesCut++
	}
	return st
}

func counter(m map[int64]*Counts, gen int64) *Counts {
	c := m[gen]
	if c == nil {
		c = &Counts{}
		m[gen] = c
	}
	return c
}

// state returns the policy's state, creating it while under the cap; nil beyond it.
func (o *Observer) state(key engine.PolicyKey) *policyState {
	if st := o.policies[key]; st != nil {
		return st
	}
	if len(o.policies) >= o.limits.MaxPolicies {
		return nil
	}
	st := &policyState{window: map[int64]*Counts{}, previous: map[int64]*Counts{},
		interval: map[int64]*Counts{}, recent: map[int64]*Counts{}, rules: map[RuleKey]*Counts{},
		flows: map[FlowKey]*FlowSample{}}
	o.policies[key] = st
	return st
}

func flowKey(a attribution, verdict Verdict, v *engine.Verdict, f engine.Flow) FlowKey {
	peer := func(ep *engine.EndpointRef, addr netip.Addr) Peer {
		if ep != nil {
			return Peer{Namespace: ep.Namespace, Name: ep.Name}
		}
		return Peer{Addr: addr}
	}
	return FlowKey{Policy: a.key, Generation: a.rule.Generation, Verdict: verdict, Direction: a.rule.Direction, Rule: a.rule.Rule,
		Src: peer(v.Egress.Endpoint, f.Src), Dst: peer(v.Ingress.Endpoint, f.Dst), Protocol: f.Protocol, DstPort: f.DstPort}
}

// sample records a would-deny or denied flow of the policy's window, evicting the lowest-ranked
// tracked flow when full. Called with o.mu held.
func (o *Observer) sample(st *policyState, k FlowKey, at time.Time) {
	if s := st.flows[k]; s != nil {
		s.Count++
		if at.After(s.LastSeen) {
			s.LastSeen = at
		}
		if at.Before(s.FirstSeen) {
			s.FirstSeen = at
		}
		return
	}
	if len(st.flows) >= o.limits.TrackedFlows {
		var worst *FlowSample
		for _, s := range st.flows {
			if worst == nil || s.rank(worst) > 0 {
				worst = s
			}
		}
		delete(st.flows, worst.FlowKey)
		st.flowsCut++
	}
	st.flows[k] = &FlowSample{FlowKey: k, Count: 1, FirstSeen: at, LastSeen: at}
}

// SetWindow sets the start of a policy's evidence window (status.evidence.windowStart). A start
// different from the current one ends the current window: its counts become the previous
// window's and counting starts again from zero (the flow samples of the ended window are
// dropped). Setting the same start again changes nothing.
func (o *Observer) SetWindow(key engine.PolicyKey, start time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := o.state(key)
	if st == nil || st.windowStart.Equal(start) {
		return
	}
	st.previousStart, st.previous = st.windowStart, st.window
	st.windowStart, st.window = start, map[int64]*Counts{}
	st.rules, st.rulesCut = map[RuleKey]*Counts{}, 0
	st.flows, st.flowsCut = map[FlowKey]*FlowSample{}, 0
}

// RollInterval ends the current report interval: its counts become Recent. The report writer
// calls it once per report interval.
func (o *Observer) RollInterval() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, st := range o.policies {
		st.recent, st.interval = st.interval, map[int64]*Counts{}
	}
}

// Forget drops a deleted policy's counts, samples and metric series.
func (o *Observer) Forget(key engine.PolicyKey) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.policies, key)
	o.metrics.forget(key)
}

// Summary returns a bounded deep copy of the counts.
func (o *Observer) Summary() Summary {
	o.mu.Lock()
	defer o.mu.Unlock()
	s := Summary{PoliciesCut: o.policiesCut, Unattributed: o.unattributed, Errors: o.errors}
	keys := slices.SortedFunc(maps.Keys(o.policies), func(a, b engine.PolicyKey) int {
		return cmp.Compare(a.String(), b.String())
	})
	for _, k := range keys {
		st := o.policies[k]
		ps := PolicySummary{Policy: k, WindowStart: st.windowStart, PreviousWindowStart: st.previousStart,
			Window: genCounts(st.window), Previous: genCounts(st.previous), Recent: genCounts(st.recent), RulesCut: st.rulesCut}
		for rk, c := range st.rules {
			ps.Rules = append(ps.Rules, RuleCounts{RuleKey: rk, Counts: *c})
		}
		slices.SortFunc(ps.Rules, func(a, b RuleCounts) int {
			if a.Generation != b.Generation {
				return cmp.Compare(a.Generation, b.Generation)
			}
			if a.Direction != b.Direction {
				return int(a.Direction) - int(b.Direction)
			}
			return a.Rule - b.Rule
		})
		ps.FlowsCut = st.flowsCut
		for _, f := range st.flows {
			ps.Flows = append(ps.Flows, *f)
		}
		slices.SortFunc(ps.Flows, func(a, b FlowSample) int { return a.rank(&b) })
		if len(ps.Flows) > o.limits.MaxFlows {
			ps.FlowsCut += int64(len(ps.Flows) - o.limits.MaxFlows)
			ps.Flows = ps.Flows[:o.limits.MaxFlows]
		}
		s.Policies = append(s.Policies, ps)
	}
	return s
}

func genCounts(m map[int64]*Counts) []GenerationCounts {
	var out []GenerationCounts
	for g, c := range m {
		out = append(out, GenerationCounts{Generation: g, Counts: *c})
	}
	slices.SortFunc(out, func(a, b GenerationCounts) int { return cmp.Compare(a.Generation, b.Generation) })
	return out
}
