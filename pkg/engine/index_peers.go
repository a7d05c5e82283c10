package engine

import (
	"slices"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/pkg/selector"
)

// peerSel is one rule-peer endpoint selector, interned by key and shared by every rule that uses
// the same selector (Felix shares one IP set per selector the same way). Its members are kept
// incrementally as one bit per endpoint (endpoint.peerBits[id]), so matching a peer at
// evaluation time is an IP lookup and a bit test.
type peerSel struct {
	key string
	// id is the bit index; -1 until interned.
	id   int
	refs int

	// scoped restricts members to pods in scopeNS (the own-namespace clause of a namespaced
	// policy's rule without namespaceSelector).
	scoped  bool
	scopeNS string
	// never: namespaceSelector global(), which no pod matches.
	never bool
	// nsSel is evaluated on the namespace view (pcns.*), saSel on the service-account view
	// (pcsa.*), saNames against projectcalico.org/serviceaccount, sel on the pod labels.
	nsSel   selector.Selector
	saSel   selector.Selector
	saNames []string
	sel     selector.Selector
	// not is a notSelector folded into a positive selector: members must not match it.
	not selector.Selector
}

// computeKey renders the selector's identity; fields are length-prefixed so that no selector text
// can collide with another combination.
func (p *peerSel) computeKey() string {
	var b strings.Builder
	field := func(tag byte, s string) {
		b.WriteByte(tag)
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	if p.scoped {
		field('n', p.scopeNS)
	}
	if p.never {
		field('g', "")
	}
	if p.nsSel != nil {
		field('m', p.nsSel.String())
	}
	if p.saSel != nil {
		field('a', p.saSel.String())
	}
	for _, n := range p.saNames {
		field('s', n)
	}
	if p.sel != nil {
		field('l', p.sel.String())
	}
	if p.not != nil {
		field('x', p.not.String())
	}
	return b.String()
}

// matches evaluates the selector for one pod; used when a pod or a selector changes, never per
// flow.
func (p *peerSel) matches(v *podView) bool {
	if p.never {
		return false
	}
	if p.scoped && v.ep.ref.Namespace != p.scopeNS {
		return false
	}
	if p.nsSel != nil && !p.nsSel.Matches(nsView{v}) {
		return false
	}
	if p.saNames != nil {
		sa, ok := v.Get(LabelServiceAccount)
		if !ok {
			return false
		}
		if _, found := slices.BinarySearch(p.saNames, sa); !found {
			return false
		}
	}
	if p.saSel != nil && !p.saSel.Matches(saView{v}) {
		return false
	}
	if p.sel != nil && !p.sel.Matches(v) {
		return false
	}
	if p.not != nil && p.not.Matches(v) {
		return false
	}
	return true
}

// peerIndex interns peer selectors and keeps their members.
type peerIndex struct {
	byKey map[string]*peerSel
	// byNS holds the scoped selectors by namespace; unscoped the rest. A pod change evaluates
	// only the selectors of its namespace and the unscoped ones.
	byNS     map[string]map[*peerSel]struct{}
	unscoped map[*peerSel]struct{}
	freeIDs  []int
	nextID   int
}

func newPeerIndex() peerIndex {
	return peerIndex{
		byKey:    map[string]*peerSel{},
		byNS:     map[string]map[*peerSel]struct{}{},
		unscoped: map[*peerSel]struct{}{},
	}
}

// intern returns the shared selector for p's key, registering p (and computing its members) when
// it is new.
func (e *Engine) internPeer(p *peerSel) *peerSel {
	if p == nil {
		return nil
	}
	idx := &e.peers
	if have, ok := idx.byKey[p.key]; ok {
		have.refs++
		return have
	}
	p.refs = 1
	if n := len(idx.freeIDs); n > 0 {
		p.id = idx.freeIDs[n-1]
		idx.freeIDs = idx.freeIDs[:n-1]
	} else {
		p.id = idx.nextID
		idx.nextID++
	}
	idx.byKey[p.key] = p
	if p.scoped {
		m := idx.byNS[p.scopeNS]
		if m == nil {
			m = map[*peerSel]struct{}{}
			idx.byNS[p.scopeNS] = m
		}
		m[p] = struct{}{}
		for _, ep := range e.podsByNS[p.scopeNS] {
			ep.setPeerBit(p.id, p.matches(e.writeView(ep)))
		}
	} else {
		idx.unscoped[p] = struct{}{}
		for _, ep := range e.pods {
			ep.setPeerBit(p.id, p.matches(e.writeView(ep)))
		}
	}
	return p
}

// releasePeer drops one reference; the last one clears the selector's bits so that its id can be
// reused.
func (e *Engine) releasePeer(p *peerSel) {
	if p == nil {
		return
	}
	p.refs--
	if p.refs > 0 {
		return
	}
	idx := &e.peers
	delete(idx.byKey, p.key)
	if p.scoped {
		delete(idx.byNS[p.scopeNS], p)
		if len(idx.byNS[p.scopeNS]) == 0 {
			delete(idx.byNS, p.scopeNS)
		}
		for _, ep := range e.podsByNS[p.scopeNS] {
			ep.setPeerBit(p.id, false)
		}
	} else {
		delete(idx.unscoped, p)
		for _, ep := range e.pods {
			ep.setPeerBit(p.id, false)
		}
	}
	idx.freeIDs = append(idx.freeIDs, p.id)
}

// refreshPeerBits re-evaluates every selector that could match ep.
func (e *Engine) refreshPeerBits(ep *endpoint) {
	e.podEpochs.touch(ep.ref.Namespace)
	v := e.writeView(ep)
	for p := range e.peers.byNS[ep.ref.Namespace] {
		ep.setPeerBit(p.id, p.matches(v))
	}
	for p := range e.peers.unscoped {
		ep.setPeerBit(p.id, p.matches(v))
	}
}

func (ep *endpoint) setPeerBit(id int, on bool) {
	w, bit := id>>6, uint64(1)<<(id&63)
	if w >= len(ep.peerBits) {
		if !on {
			return
		}
		ep.peerBits = append(ep.peerBits, make([]uint64, w+1-len(ep.peerBits))...)
	}
	if on {
		ep.peerBits[w] |= bit
	} else {
		ep.peerBits[w] &^= bit
	}
}

func (ep *endpoint) peerBit(id int) bool {
	w := id >> 6
	return w < len(ep.peerBits) && ep.peerBits[w]&(uint64(1)<<(id&63)) != 0
}
