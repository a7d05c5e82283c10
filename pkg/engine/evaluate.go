package engine

import "github.com/palisade-dev/palisade/api/v1alpha1"

// Evaluate answers whether the flow is allowed, with a trace of both directions. The chooser
// picks the generation of each policy at each of the two pods (chooser.go): a Mode (EnforcedOnly,
// CandidatesAsEnforced) uses the precomputed lists, any other chooser (Canary, ChooserFunc) has
// the two pods' lists computed for this call.
func (e *Engine) Evaluate(f Flow, ch Chooser) (Verdict, error) {
	var v Verdict
	err := e.EvaluateInto(&v, f, ch)
	return v, err
}

// EvaluateInto is Evaluate writing into v, reusing its slices: a caller evaluating many flows
// with one Verdict allocates only for Log hits (and, for a chooser that is not a Mode, the two
// lists).
func (e *Engine) EvaluateInto(v *Verdict, f Flow, ch Chooser) error {
	if err := checkChooser(ch); err != nil {
		return err
	}
	pkt, err := newPacket(f)
	if err != nil {
		return err
	}
	defer e.runlock(e.rlock())
	e.resolve(&pkt)
	e.evalSide(&v.Egress, &pkt, pkt.srcEps, ch, Egress)
	e.evalSide(&v.Ingress, &pkt, pkt.dstEps, ch, Ingress)
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	return nil
}

// EvaluateBoth evaluates the flow in EnforcedOnly and CandidatesAsEnforced mode under one lock.
// A direction whose pod is touched by no candidate is evaluated once and copied.
func (e *Engine) EvaluateBoth(f Flow) (Comparison, error) {
	var c Comparison
	err := e.EvaluateBothInto(&c, f)
	return c, err
}

// EvaluateBothInto is EvaluateBoth writing into c, reusing its slices.
func (e *Engine) EvaluateBothInto(c *Comparison, f Flow) error {
	pkt, err := newPacket(f)
	if err != nil {
		return err
	}
	defer e.runlock(e.rlock())
	e.resolve(&pkt)
	for _, s := range []struct {
		eps []*endpoint
		dir Direction
		enf *DirectionTrace
		can *DirectionTrace
	}{
		{pkt.srcEps, Egress, &c.Enforced.Egress, &c.Candidate.Egress},
		{pkt.dstEps, Ingress, &c.Enforced.Ingress, &c.Candidate.Ingress},
	} {
		e.evalSide(s.enf, &pkt, s.eps, EnforcedOnly, s.dir)
		if len(s.eps) == 0 || s.eps[0].candSame {
			s.can.copyFrom(s.enf)
		} else {
			e.evalSide(s.can, &pkt, s.eps, CandidatesAsEnforced, s.dir)
		}
	}
	c.Enforced.Allowed = c.Enforced.Egress.Allowed && c.Enforced.Ingress.Allowed
	c.Candidate.Allowed = c.Candidate.Egress.Allowed && c.Candidate.Ingress.Allowed
	return nil
}

// Allowed answers the flow without building a trace (the cheapest form); ch as for Evaluate.
func (e *Engine) Allowed(f Flow, ch Chooser) (bool, error) {
	if err := checkChooser(ch); err != nil {
		return false, err
	}
	pkt, err := newPacket(f)
	if err != nil {
		return false, err
	}
	defer e.runlock(e.rlock())
	e.resolve(&pkt)
	return e.evalSide(nil, &pkt, pkt.srcEps, ch, Egress) && e.evalSide(nil, &pkt, pkt.dstEps, ch, Ingress), nil
}

func (e *Engine) resolve(p *packet) {
	p.eng = e
	p.srcEps = e.byIP[p.src]
	p.dstEps = e.byIP[p.dst]
}

// evalSide runs docs/semantics.md §5.9 for one direction at the pod holding the side's address (the
// first by namespace/name if several do). tr may be nil (no trace).
func (e *Engine) evalSide(tr *DirectionTrace, pkt *packet, eps []*endpoint, ch Chooser, dir Direction) bool {
	if tr != nil {
		tr.reset()
	}
	if len(eps) == 0 {
		return finish(tr, true, Decision{Reason: ReasonNotAnEndpoint})
	}
	ep := eps[0]
	if tr != nil {
		tr.Endpoint = &ep.ref
	}
	return e.evalList(tr, pkt, listFor(ep, ch, dir), dir)
}

// evalList walks the ordered applicable generations of one endpoint and direction.
func (e *Engine) evalList(tr *DirectionTrace, pkt *packet, list []*compiled, dir Direction) bool {
	if len(list) == 0 {
		return finish(tr, true, Decision{Reason: ReasonNoPolicyApplies})
	}
	if tr != nil && cap(tr.Policies) < len(list) {
		// At most every applicable policy is visited: one allocation instead of growth.
		tr.Policies = make([]PolicyTrace, 0, len(list))
	}
	for i := 0; i < len(list); {
		tier := list[i].tier
		end := i + 1
		for end < len(list) && list[end].tier.name == tier.name {
			end++
		}
		passed := false
		for _, c := range list[i:end] {
			out, ri := e.evalPolicy(tr, pkt, c, dir)
			switch out {
			case OutcomeAllow, OutcomeDeny:
				return finish(tr, out == OutcomeAllow, Decision{
					Reason: ReasonRule, Tier: tier.name, Policy: &c.key,
					RuleIndex: &c.rules[dir][ri].origin, Action: v1alpha1.Action(out),
				})
			case OutcomeInvalid:
				return finish(tr, false, Decision{Reason: ReasonInvalidPolicy, Tier: tier.name, Policy: &c.key})
			case OutcomePass:
				passed = true
			}
			if passed {
				break
			}
		}
		if !passed && !tier.defaultPass {
			return finish(tr, false, Decision{Reason: ReasonEndOfTierDeny, Tier: tier.name})
		}
		i = end
	}
	return finish(tr, true, Decision{Reason: ReasonPassedToProfile})
}

func finish(tr *DirectionTrace, allowed bool, d Decision) bool {
	if tr != nil {
		tr.Allowed, tr.Decision = allowed, d
	}
	return allowed
}

// evalPolicy runs one policy's rules for the direction: Log rules are recorded and never decide;
// the first matching Allow/Deny/Pass rule gives the outcome. It returns the rule's position.
func (e *Engine) evalPolicy(tr *DirectionTrace, pkt *packet, c *compiled, dir Direction) (Outcome, int) {
	var step *PolicyTrace
	if tr != nil {
		tr.Policies = append(tr.Policies, PolicyTrace{
			Policy: c.key, Tier: c.tier.name, Order: c.orderPtr, Generation: c.slot,
		})
		step = &tr.Policies[len(tr.Policies)-1]
	}
	if c.failClosed {
		if step != nil {
			step.Outcome, step.Error = OutcomeInvalid, c.errText
		}
		return OutcomeInvalid, -1
	}
	rules := c.rules[dir]
	for i := range rules {
		r := &rules[i]
		if !r.matches(pkt) {
			continue
		}
		if r.action == v1alpha1.Log {
			if step != nil {
				step.LogRules = append(step.LogRules, r.origin)
			}
			continue
		}
		out := Outcome(r.action)
		if step != nil {
			step.Outcome, step.RuleIndex = out, &r.origin
		}
		return out, i
	}
	if step != nil {
		step.Outcome = OutcomeNoRuleMatched
	}
	return OutcomeNoRuleMatched, -1
}
