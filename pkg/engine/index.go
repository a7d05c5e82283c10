package engine

import (
	"cmp"
	"slices"
)

// endpoint is the engine's record of a pod, with its precomputed policy lists and peer bits.
type endpoint struct {
	ref  EndpointRef
	spec Endpoint
	// labels are the pod's own labels with the Calico labels written over them.
	labels     map[string]string
	hasSALabel bool
	// nsRec and saRec are the pod's namespace and service account (nil when unknown), as of the
	// pod's last refresh (lookupProfiles).
	nsRec *nsRecord
	saRec *saRecord

	// set is the interned set of policy generations selecting the pod (applied.go), shared with
	// every pod selected by the same generations; never nil once the pod is stored.
	set *appliedSet
	// lists are the applicable generations per mode and direction, in evaluation order: set's
	// lists, immutable and possibly shared with other pods. When no policy touching the pod has
	// a candidate, lists[CandidatesAsEnforced] shares the slices of lists[EnforcedOnly] and
	// candSame is true.
	lists    [numModes][numDirections][]*compiled
	candSame bool
	// listsStale says set's lists are deferred (applied.go, flushLists), so lists and candSame
	// are not yet its set's; the endpoint is then in Engine.pendingEps.
	listsStale bool

	peerBits []uint64
}

// policyEntry holds the generations stored for one policy key.
type policyEntry struct {
	key PolicyKey
	// id orders the entry in appliedSet members; unique for the engine's lifetime.
	id uint64
	// ver is bumped by every change to the entry's generations (appliedSet.member).
	ver   uint64
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
	*v = podView{ep: ep, ns: ep.nsRec, sa: ep.saRec}
}

// lookupProfiles caches the pod's namespace and service-account records in the endpoint (the
// label view reads them for every selector evaluation). Every change to a namespace or service
// account refreshes its pods, which calls this again.
func (e *Engine) lookupProfiles(ep *endpoint) {
	ep.nsRec, ep.saRec = e.namespaces[ep.ref.Namespace], nil
	if ep.spec.ServiceAccount != "" {
		ep.saRec = e.serviceAccounts[EndpointRef{Namespace: ep.ref.Namespace, Name: ep.spec.ServiceAccount}]
	}
}

// refreshEndpoint recomputes everything derived from a pod's labels: which policies select it
// (and so the shared set of lists it holds), and its peer-selector bits. Cost: the policies of its
// namespace plus the global ones, and the peer selectors of its namespace plus the unscoped ones;
// the lists are sorted only when no other pod is selected by the same generations.
func (e *Engine) refreshEndpoint(ep *endpoint) {
	e.lookupProfiles(ep)
	v := e.writeView(ep)
	ms := e.scratchMembers[:0]
	for _, pe := range e.nsPolicies[ep.ref.Namespace] {
		if f := pe.flagsFor(v); f != 0 {
			ms = append(ms, member{pe: pe, ver: pe.ver, flags: f})
		}
	}
	for _, pe := range e.globalPolicies {
		if f := pe.flagsFor(v); f != 0 {
			ms = append(ms, member{pe: pe, ver: pe.ver, flags: f})
		}
	}
	slices.SortFunc(ms, func(a, b member) int { return cmp.Compare(a.pe.id, b.pe.id) })
	e.holdSet(ep, e.setFor(ms))
	clear(ms) // drop the entry pointers held by the scratch
	e.scratchMembers = ms[:0]
	e.refreshPeerBits(ep)
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
		e.nextEntryID++
		pe = &policyEntry{key: key, id: e.nextEntryID}
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
	pe.ver++

	// Every pod the entry selected before or selects now moves to the set "its old set with this
	// entry's new generations": built once per distinct old set and flags (transition), so the
	// cost is one selector evaluation per pod in scope plus one list copy per distinct set.
	type move struct {
		from  *appliedSet
		flags uint8
	}
	moves := map[move]*appliedSet{}
	var last move
	var lastTo, lastSet *appliedSet
	var lastBefore uint8
	e.podsInScope(key, func(ep *endpoint) {
		if ep.set != lastSet {
			lastSet, lastBefore = ep.set, ep.set.flagsOf(pe)
		}
		before := lastBefore
		after := pe.flagsFor(e.writeView(ep))
		// Lists hold generation pointers, so any pod touched before or after moves.
		if before == 0 && after == 0 {
			return
		}
		mv := move{ep.set, after}
		if mv != last || lastTo == nil {
			// Most pods in a row share their set: the map is consulted only on a change.
			last, lastTo = mv, moves[mv]
			if lastTo == nil {
				lastTo = e.transition(ep.set, pe, after)
				moves[mv] = lastTo
			}
		}
		e.holdSet(ep, lastTo)
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
