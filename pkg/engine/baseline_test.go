package engine

import "slices"

// linearEvaluate is the unindexed BASELINE: for every flow it scans every stored policy,
// re-evaluates each policy selector against the two pods, sorts what applies, and matches rule
// peers by evaluating their selectors directly. It shares the rule-matching code with the
// engine, so it serves both as the benchmark baseline and as a differential oracle for the
// incremental index.
func (e *Engine) linearEvaluate(f Flow, ch Chooser) (Verdict, error) {
	var v Verdict
	pkt, err := newPacket(f)
	if err != nil {
		return v, err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	e.resolve(&pkt)
	pkt.direct = e
	e.linearSide(&v.Egress, &pkt, pkt.srcEps, ch, Egress)
	e.linearSide(&v.Ingress, &pkt, pkt.dstEps, ch, Ingress)
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	return v, nil
}

func (e *Engine) linearSide(tr *DirectionTrace, pkt *packet, eps []*endpoint, ch Chooser, dir Direction) {
	tr.reset()
	if len(eps) == 0 {
		finish(tr, true, Decision{Reason: ReasonNotAnEndpoint})
		return
	}
	ep := eps[0]
	tr.Endpoint = &ep.ref
	v := e.view(ep)
	var list []*compiled
	for _, pe := range e.policies {
		// The chooser's slot, read directly: the candidate where there is one, else enforced.
		c := pe.slots[SlotEnforced]
		if ch.Choose(ep.ref, pe.key) == SlotCandidate && pe.slots[SlotCandidate] != nil {
			c = pe.slots[SlotCandidate]
		}
		if c != nil && c.governs[dir] && c.subject.matches(v) {
			list = append(list, c)
		}
	}
	slices.SortFunc(list, comparePolicies)
	e.evalList(tr, pkt, list, dir)
}
