package engine

import (
	"slices"
)

// appliedSet is one set of policy generations selecting an endpoint, with the ordered lists an
// evaluation walks. It is immutable once built and interned: every endpoint selected by exactly
// the same generations shares one appliedSet and therefore one copy of its lists. That is what
// keeps loading near-linear: a policy change moves each endpoint in its scope from its set to the
// set "the same plus (or minus) this policy", and that new set is built once per distinct old set
// (from the old lists by one binary-search insertion), not once per endpoint. In the common
// shapes (policies selecting all pods, a namespace, an app) a few sets serve thousands of pods.
type appliedSet struct {
	hash uint64
	// members are the policy entries selecting the endpoints, sorted by entry id, each with the
	// entry's version and the generations (bits 1<<slot) that select the endpoints.
	members []member
	// lists and candSame are what endpoint.lists and endpoint.candSame hold (see there).
	lists    [numModes][numDirections][]*compiled
	candSame bool
	// refs counts the endpoints holding the set; at zero it leaves the intern table.
	refs int
	// stale says lists and candSame are not built yet: a policy store made the set and deferred
	// its lists to the next read (flushLists), so that a run of stores that moves the same pods
	// from set to set builds only the lists of the set they end on.
	stale bool
	// tailTaken says another set's members slice extends into this one's spare capacity (an
	// entry appended without copying, transition); members may then no longer be appended in place.
	tailTaken bool
}

// member is one policy entry of an appliedSet. ver is the entry's version when the set was built:
// a change to the entry bumps its version, so a set built from older generations is never found
// again by interning (every endpoint holding one moves off it in the same update).
type member struct {
	pe    *policyEntry
	ver   uint64
	flags uint8
}

// flagsOf returns which generations of pe select the set's endpoints (0: none).
func (s *appliedSet) flagsOf(pe *policyEntry) uint8 {
	if i, ok := s.find(pe); ok {
		return s.members[i].flags
	}
	return 0
}

func (s *appliedSet) find(pe *policyEntry) (int, bool) {
	return slices.BinarySearchFunc(s.members, pe.id, func(m member, id uint64) int {
		switch {
		case m.pe.id < id:
			return -1
		case m.pe.id > id:
			return 1
		}
		return 0
	})
}

// hashMembers is the sum of the members' hashes: a transition updates it in O(1) by removing
// one member's hash and adding another's.
func hashMembers(ms []member) uint64 {
	var h uint64
	for _, m := range ms {
		h += m.hash()
	}
	return h
}

// hash mixes a member's identity (splitmix64 finaliser per word).
func (m member) hash() uint64 {
	return mix64(mix64(mix64(m.pe.id)^m.ver) ^ uint64(m.flags))
}

func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// lookupSet returns the interned set with exactly these members, or nil.
func (e *Engine) lookupSet(h uint64, ms []member) *appliedSet {
	for _, s := range e.sets[h] {
		if slices.Equal(s.members, ms) {
			return s
		}
	}
	return nil
}

// addSet interns a new set (its members must not be interned yet).
func (e *Engine) addSet(s *appliedSet) *appliedSet {
	e.sets[s.hash] = append(e.sets[s.hash], s)
	return s
}

// setFor returns the interned set with these members, building it from scratch (one sort per
// list) when none exists. ms is copied.
func (e *Engine) setFor(ms []member) *appliedSet {
	h := hashMembers(ms)
	if s := e.lookupSet(h, ms); s != nil {
		return s
	}
	s := &appliedSet{hash: h, members: slices.Clone(ms)}
	s.buildLists()
	return e.addSet(s)
}

// buildLists computes the ordered lists from the members (one sort per list).
func (s *appliedSet) buildLists() {
	s.candSame = true
	for _, m := range s.members {
		if m.pe.slots[SlotCandidate] != nil {
			s.candSame = false
			break
		}
	}
	for mode := range numModes {
		if s.candSame && mode == CandidatesAsEnforced {
			s.lists[mode] = s.lists[EnforcedOnly]
			break
		}
		// Two passes: count, then fill lists of the exact length (one allocation each).
		var n [numDirections]int
		for _, m := range s.members {
			if c := m.pe.generationFor(mode, m.flags); c != nil {
				for d := range numDirections {
					if c.governs[d] {
						n[d]++
					}
				}
			}
		}
		for d := range numDirections {
			if n[d] > 0 {
				s.lists[mode][d] = make([]*compiled, 0, n[d])
			}
		}
		for _, m := range s.members {
			if c := m.pe.generationFor(mode, m.flags); c != nil {
				for d := range numDirections {
					if c.governs[d] {
						s.lists[mode][d] = append(s.lists[mode][d], c)
					}
				}
			}
		}
		for d := range numDirections {
			slices.SortFunc(s.lists[mode][d], comparePolicies)
		}
	}
}

// generationFor returns the generation of the entry a mode evaluates for an endpoint that the
// generations in flags select, or nil (chooser.go, policyEntry.chosen).
func (pe *policyEntry) generationFor(mode Mode, flags uint8) *compiled {
	return pe.chosen(mode.Choose(EndpointRef{}, PolicyKey{}), flags)
}

// transition returns the interned set of an endpoint that held old and is now selected by the
// generations flags of pe (0: by none), pe's generations being those just stored. Its lists are
// not built here but at the next read (flushLists): building them costs a pass over the lists,
// and a bulk load moves the same pods through one set per policy stored, of which only the last
// is ever read. A new entry (the highest id, so the last member) is appended to old's members
// without copying them when old's spare capacity is free, so a run of new policies over the same
// pods costs amortised O(1) per distinct set, not a copy of every member.
func (e *Engine) transition(old *appliedSet, pe *policyEntry, flags uint8) *appliedSet {
	i, found := old.find(pe)
	h := old.hash
	var ms []member
	appended := false
	if !found && flags != 0 && i == len(old.members) && !old.tailTaken {
		m := member{pe: pe, ver: pe.ver, flags: flags}
		ms = append(old.members, m) //nolint:gocritic // shares old's backing array on purpose (tailTaken)
		h += m.hash()
		appended = true
	} else {
		ms = make([]member, 0, len(old.members)+1)
		ms = append(ms, old.members[:i]...)
		if flags != 0 {
			m := member{pe: pe, ver: pe.ver, flags: flags}
			ms = append(ms, m)
			h += m.hash()
		}
		if found {
			h -= old.members[i].hash()
			i++
		}
		ms = append(ms, old.members[i:]...)
	}

	if s := e.lookupSet(h, ms); s != nil {
		return s
	}
	if appended {
		old.tailTaken = true
	}
	s := &appliedSet{hash: h, members: ms, stale: true}
	e.deferLists(s)
	return e.addSet(s)
}

// holdSet moves an endpoint onto an interned set, releasing the one it held.
func (e *Engine) holdSet(ep *endpoint, s *appliedSet) {
	if ep.set == s {
		return
	}
	s.refs++
	if ep.set != nil {
		e.releaseSet(ep.set)
	}
	ep.set = s
	if s.stale {
		if !ep.listsStale {
			ep.listsStale = true
			e.pendingEps = append(e.pendingEps, ep)
		}
		return
	}
	ep.lists, ep.candSame = s.lists, s.candSame
}

// releaseSet drops one endpoint's reference; the last one removes the set from the intern table.
func (e *Engine) releaseSet(s *appliedSet) {
	s.refs--
	if s.refs > 0 {
		return
	}
	bucket := slices.DeleteFunc(e.sets[s.hash], func(x *appliedSet) bool { return x == s })
	if len(bucket) == 0 {
		delete(e.sets, s.hash)
	} else {
		e.sets[s.hash] = bucket
	}
}

// deferLists records a set whose lists the next read builds. Dead sets (no endpoint left) are
// dropped from the record now and then, so a long run of writes without a read keeps only the
// sets still held.
func (e *Engine) deferLists(s *appliedSet) {
	e.listsPending = true
	if len(e.pendingSets) > 2*len(e.sets)+1024 {
		// Before appending s, which no endpoint holds yet.
		e.pendingSets = slices.DeleteFunc(e.pendingSets, func(s *appliedSet) bool { return s.refs == 0 })
	}
	e.pendingSets = append(e.pendingSets, s)
}

// flushLists builds the lists deferred by policy stores (transition) and gives them to the
// endpoints holding those sets. Writers call it under the exclusive lock; readers get there
// through rlock.
func (e *Engine) flushLists() {
	if !e.listsPending {
		return
	}
	for _, s := range e.pendingSets {
		// A set no endpoint holds any more is out of the intern table and never read.
		if s.stale && s.refs > 0 {
			s.buildLists()
			s.stale = false
		}
	}
	for _, ep := range e.pendingEps {
		ep.lists, ep.candSame = ep.set.lists, ep.set.candSame
		ep.listsStale = false
	}
	clear(e.pendingSets)
	clear(e.pendingEps)
	e.pendingSets, e.pendingEps = e.pendingSets[:0], e.pendingEps[:0]
	e.listsPending = false
}

// rlock takes the shared lock for a reader, or, when policy stores left lists to build, the
// exclusive lock and builds them first. It reports which lock it took, for runlock.
func (e *Engine) rlock() (exclusive bool) {
	e.mu.RLock()
	if !e.listsPending {
		return false
	}
	e.mu.RUnlock()
	e.mu.Lock()
	e.flushLists()
	return true
}

// runlock releases what rlock took.
func (e *Engine) runlock(exclusive bool) {
	if exclusive {
		e.mu.Unlock()
		return
	}
	e.mu.RUnlock()
}
