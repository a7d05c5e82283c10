package engine

import (
	"slices"
)

// endpoint is the engine's record of a pod, with its precomputed policy lists and peer bits.
type endpoint struct {
	ref  EndpointRef
	spec Endpoint
	// labels are the pod's own labels with the Calico labels written over them.
	labels     map[string]string
	hasSALabel bool

	// matched says, for every policy entry selecting the pod in some generation, which of its
	// generations select it (bit 1<<SlotEnforced, 1<<SlotCandidate).
	matched map[*policyEntry]uint8
	// lists are the applicable generations per mode and direction, in evaluation order. When no
	// policy touching the pod has a candidate, lists[CandidatesAsEnforced] shares the slices of
	// lists[EnforcedOnly] and candSame is true.
	lists    [numModes][numDirections][]*compiled
	candSame bool

	peerBits []uint64
}

// policyEntry holds the generations stored for one policy key.
type policyEntry struct {
	key   PolicyKey
	slots [numSlots]*compiled
	// errs are the build errors of each generation (nil when valid).
	errs [numSlots]error
}

func (pe *policyEntry) empty() bool {
	for _, c := range pe.slots {
		if c != nil {
			return false
		}
	}
	return true
}

// flagsFor computes which generations of the entry select the pod.
func (pe *policyEntry) flagsFor(v *podView) uint8 {
	var f uint8
	for s, c := range pe.slots {
		if c != nil && c.subject.matches(v) {
			f |= 1 << s
		}
	}
	return f
}

// view returns the label view of a pod (allocated: safe under the shared lock).
func (e *Engine) view(ep *endpoint) *podView {
	v := &podView{}
	e.fillView(v, ep)
	return v
}

// writeView returns the label view of a pod in the engine's scratch view. Only writers, which
// hold the exclusive lock, may use it; it saves one allocation per pod on bulk updates.
func (e *Engine) writeView(ep *endpoint) *podView {
	e.fillView(&e.scratch, ep)
	return &e.scratch
}

func (e *Engine) fillView(v *podView, ep *endpoint) {
	*v = podView{ep: ep, ns: e.namespaces[ep.ref.Namespace]}
	if ep.spec.ServiceAccount != "" {
		v.sa = e.serviceAccounts[EndpointRef{Namespace: ep.ref.Namespace, Name: ep.spec.ServiceAccount}]
	}
}

// refreshEndpoint recomputes everything derived from a pod's labels: which policies select it,
// its ordered lists, and its peer-selector bits. Cost: the policies of its namespace plus the
// global ones, and the peer selectors of its namespace plus the unscoped ones.
func (e *Engine) refreshEndpoint(ep *endpoint) {
	v := e.writeView(ep)
	clear(ep.matched)
	for _, pe := range e.nsPolicies[ep.ref.Namespace] {
		if f := pe.flagsFor(v); f != 0 {
			ep.matched[pe] = f
		}
	}
	for _, pe := range e.globalPolicies {
		if f := pe.flagsFor(v); f != 0 {
			ep.matched[pe] = f
		}
	}
	ep.rebuildLists()
	e.refreshPeerBits(ep)
}

// rebuildLists recomputes the ordered applicable lists from ep.matched.
func (ep *endpoint) rebuildLists() {
	// Reuse the backing arrays: readers never keep a list beyond one evaluation under the shared
	// lock. Shared candidate lists must not be appended to, so they are dropped first.
	if ep.candSame {
		ep.lists[CandidatesAsEnforced] = [numDirections][]*compiled{}
	}
	var lists [numModes][numDirections][]*compiled
	for m := range numModes {
		for d := range numDirections {
			lists[m][d] = ep.lists[m][d][:0]
		}
	}
	candSame := true
	for pe, f := range ep.matched {
		enf, cand := pe.slots[SlotEnforced], pe.slots[SlotCandidate]
		if enf != nil && f&(1<<SlotEnforced) != 0 {
			for d := range numDirections {
				if enf.governs[d] {
					lists[EnforcedOnly][d] = append(lists[EnforcedOnly][d], enf)
				}
			}
		}
		// The candidate view uses the candidate where one exists, else the enforced generation.
		view, viewFlag := enf, uint8(1<<SlotEnforced)
		if cand != nil {
			view, viewFlag, candSame = cand, 1<<SlotCandidate, false
		}
		if view != nil && f&viewFlag != 0 {
			for d := range numDirections {
				if view.governs[d] {
					lists[CandidatesAsEnforced][d] = append(lists[CandidatesAsEnforced][d], view)
				}
			}
		}
	}
	for m := range numModes {
		for d := range numDirections {
			slices.SortFunc(lists[m][d], comparePolicies)
		}
	}
	if candSame {
		lists[CandidatesAsEnforced] = lists[EnforcedOnly]
	}
	ep.lists, ep.candSame = lists, candSame
}

// podsInScope iterates the pods a policy entry could select.
func (e *Engine) podsInScope(key PolicyKey, fn func(*endpoint)) {
	if key.Kind == KindGlobalNetworkPolicy {
		for _, ep := range e.pods {
			fn(ep)
		}
		return
	}
	for _, ep := range e.podsByNS[key.Namespace] {
		fn(ep)
	}
}

// storePolicy installs (c != nil) or removes (c == nil) one generation of a policy and updates the
// index: the pods in the policy's scope are re-evaluated against this policy only.
func (e *Engine) storePolicy(key PolicyKey, slot Slot, c *compiled, buildErr error) {
	pe := e.policies[key]
	if pe == nil {
		if c == nil {
			return
		}
		pe = &policyEntry{key: key}
		e.policies[key] = pe
		if key.Kind == KindGlobalNetworkPolicy {
			e.globalPolicies[key] = pe
		} else {
			m := e.nsPolicies[key.Namespace]
			if m == nil {
				m = map[PolicyKey]*policyEntry{}
				e.nsPolicies[key.Namespace] = m
			}
			m[key] = pe
		}
	}
	if c != nil {
		for d := range numDirections {
			for i := range c.rules[d] {
				r := &c.rules[d][i]
				for _, s := range []*side{&r.src, &r.dst} {
					s.pos = e.internPeer(s.pos)
					s.neg = e.internPeer(s.neg)
					for _, p := range []*peerSel{s.pos, s.neg} {
						if p != nil {
							c.peers = append(c.peers, p)
						}
					}
				}
			}
		}
	}
	old := pe.slots[slot]
	pe.slots[slot], pe.errs[slot] = c, buildErr

	e.podsInScope(key, func(ep *endpoint) {
		v := e.writeView(ep)
		before := ep.matched[pe]
		after := pe.flagsFor(v)
		if after != 0 {
			ep.matched[pe] = after
		} else {
			delete(ep.matched, pe)
		}
		// Lists hold generation pointers, so any pod touched before or after is rebuilt.
		if before != 0 || after != 0 {
			ep.rebuildLists()
		}
	})

	if old != nil {
		for _, p := range old.peers {
			e.releasePeer(p)
		}
	}
	if pe.empty() {
		delete(e.policies, key)
		delete(e.globalPolicies, key)
		if m := e.nsPolicies[key.Namespace]; m != nil {
			delete(m, key)
			if len(m) == 0 {
				delete(e.nsPolicies, key.Namespace)
			}
		}
	}
}

// addIPs / removeIPs maintain the IP -> endpoints map; each list is kept sorted by reference so
// that the subject chosen for a shared IP does not depend on insertion order.
func (e *Engine) addIPs(ep *endpoint) {
	for _, ip := range ep.spec.IPs {
		list := e.byIP[ip]
		i, _ := slices.BinarySearchFunc(list, ep, func(a, b *endpoint) int { return compareRefs(a.ref, b.ref) })
		e.byIP[ip] = slices.Insert(list, i, ep)
	}
}

func (e *Engine) removeIPs(ep *endpoint) {
	for _, ip := range ep.spec.IPs {
		list := slices.DeleteFunc(e.byIP[ip], func(x *endpoint) bool { return x == ep })
		if len(list) == 0 {
			delete(e.byIP, ip)
		} else {
			e.byIP[ip] = list
		}
	}
}

func compareRefs(a, b EndpointRef) int {
	switch {
	case a == b:
		return 0
	case a.less(b):
		return -1
	}
	return 1
}
