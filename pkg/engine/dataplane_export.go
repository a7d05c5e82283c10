package engine

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// This file is the only place where the dataplane model reads engine internals (compiled, rule,
// side, peerSel, endpoint lists, byIP, services), so that changes to the index stay local.

// generationChooser returns the generations that apply to one endpoint in one direction, in
// evaluation order. NodeModel uses the EnforcedOnly lists; a chooser per (endpoint, policy) can
// be plugged in here without changing the model's shape (policies are keyed by PolicyID, so two
// generations of one policy can coexist in one model).
type generationChooser func(ep *endpoint, dir Direction) []*compiled

func enforcedLists(ep *endpoint, dir Direction) []*compiled { return ep.lists[EnforcedOnly][dir] }

// NodeModel returns the dataplane model of the pods whose Endpoint.Node is node, with the
// enforced generation of every policy, exactly as Evaluate in EnforcedOnly mode walks them. The
// snapshot is consistent (taken under the read lock) and owned by the caller.
func (e *Engine) NodeModel(node string) *NodeModel {
	defer e.runlock(e.rlock())
	return e.nodeModel(node, enforcedLists, nil, nil)
}

// NodeModelWith returns the dataplane model of the pods on node with, per (pod, policy), the
// generation ch chooses (as Evaluate with ch walks them: a Canary enforces a Staged policy's
// candidate on its slice only), and the candidates not enforced for each pod listed as shadowed.
func (e *Engine) NodeModelWith(node string, ch Chooser) (*NodeModel, error) {
	return e.NodeModelCached(node, ch, nil)
}

// NodeModelCached is NodeModelWith reusing, through c, the conversion of every policy generation
// that the previous call with c converted (see ModelCache); c may be nil. The model is the same
// value NodeModelWith returns, but it shares its rules and set members with the cache and with
// the models of other calls through c: more than ever, it must not be written to.
func (e *Engine) NodeModelCached(node string, ch Chooser, c *ModelCache) (*NodeModel, error) {
	if err := checkChooser(ch); err != nil {
		return nil, fmt.Errorf("node model of %q: %w", node, err)
	}
	defer e.runlock(e.rlock())
	m := e.nodeModel(node, func(ep *endpoint, dir Direction) []*compiled { return listFor(ep, ch, dir) }, c,
		func(ep *endpoint, me *ModelEndpoint) {
			me.ShadowIngress = shadowed(ep, ch, Ingress)
			me.ShadowEgress = shadowed(ep, ch, Egress)
		})
	return m, nil
}

// shadowed lists the policies whose candidate selects ep and governs dir but that ch does not
// enforce for ep.
func shadowed(ep *endpoint, ch Chooser, dir Direction) []PolicyKey {
	if ep == nil {
		return nil
	}
	var out []PolicyKey
	for _, m := range ep.set.members {
		c := m.pe.slots[SlotCandidate]
		if c == nil || m.flags&(1<<SlotCandidate) == 0 || !c.governs[dir] {
			continue
		}
		if ch.Choose(ep.ref, m.pe.key) != SlotCandidate {
			out = append(out, m.pe.key)
		}
	}
	slices.SortFunc(out, func(a, b PolicyKey) int {
		return comparePolicyIDs(PolicyID{Key: a}, PolicyID{Key: b})
	})
	return slices.CompactFunc(out, func(a, b PolicyKey) bool { return a == b })
}

// NodeNames returns the nodes that hold at least one pod, sorted.
func (e *Engine) NodeNames() []string {
	defer e.runlock(e.rlock())
	seen := map[string]struct{}{}
	for _, ep := range e.pods {
		seen[ep.spec.Node] = struct{}{}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

type modelBuilder struct {
	e        *Engine
	policies map[*compiled]*ModelPolicy
	// polSets are the set IDs each generation's rules refer to, sorted.
	polSets map[*compiled][]string
	sets    map[string]*ModelSet
	// cache, when not nil, holds the conversions of earlier builds; recipes collects the sets
	// of the generation being converted, for the cache.
	cache   *ModelCache
	recipes *[]setRecipe
}

// nodeModel builds the model of node's pods with the generations choose lists; each endpoint is
// handed to each (when not nil) with its model entry, to complete it.
func (e *Engine) nodeModel(node string, choose generationChooser, cache *ModelCache, each func(*endpoint, *ModelEndpoint)) *NodeModel {
	b := &modelBuilder{
		e:        e,
		policies: map[*compiled]*ModelPolicy{},
		polSets:  map[*compiled][]string{},
		sets:     map[string]*ModelSet{},
		cache:    cache,
	}
	if cache != nil {
		cache.mu.Lock()
		defer cache.mu.Unlock()
		defer cache.sweep()
	}
	m := &NodeModel{Node: node}
	type local struct {
		ep    *endpoint
		lists [numDirections][]*compiled
	}
	var locals []local
	for _, ep := range e.pods {
		if ep.spec.Node != node {
			continue
		}
		l := local{ep: ep}
		for _, dir := range []Direction{Ingress, Egress} {
			l.lists[dir] = choose(ep, dir)
		}
		locals = append(locals, l)
	}
	// The same local pods with the same generations as the last build through the cache: the
	// policies, their sets and the sets' users are the last model's; only the sets' members
	// may have changed (sameGenerations).
	same := cache != nil && cache.last != nil && len(locals) == len(cache.last.Endpoints)
	for i := 0; same && i < len(locals); i++ {
		ce := cache.eps[locals[i].ep.ref]
		same = ce != nil && slices.Equal(ce.lists[Ingress], locals[i].lists[Ingress]) && slices.Equal(ce.lists[Egress], locals[i].lists[Egress])
	}
	// Or the same pods with the same policies, some in a new generation each (a policy
	// updated): the last model with those generations converted again (replaced).
	var repl map[int]*compiled
	if !same && cache != nil && cache.last != nil && len(locals) == len(cache.last.Endpoints) {
		lists := make([][numDirections][]*compiled, len(locals))
		for i := range locals {
			lists[i] = locals[i].lists
		}
		repl = b.replacements(lists, func(i int) EndpointRef { return locals[i].ep.ref })
	}
	same = same || repl != nil
	for _, l := range locals {
		ep := l.ep
		me := ModelEndpoint{Ref: ep.ref}
		for _, ip := range ep.spec.IPs {
			if list := e.byIP[ip]; len(list) > 0 && list[0] == ep {
				me.IPs = append(me.IPs, ip)
			}
		}
		if ce := b.cacheEp(ep.ref); !same || ce == nil || !slices.Equal(ce.lists[Ingress], l.lists[Ingress]) || !slices.Equal(ce.lists[Egress], l.lists[Egress]) {
			// The endpoint's IDs and sets are derived again from its generations' sets.
			for _, dir := range []Direction{Ingress, Egress} {
				for _, c := range l.lists[dir] {
					b.policy(c)
				}
			}
		}
		me.Ingress, me.Egress, me.Sets = b.endpointLists(ep.ref, l.lists)
		if each != nil {
			each(ep, &me)
		}
		m.Endpoints = append(m.Endpoints, me)
	}
	if same {
		slices.SortFunc(m.Endpoints, func(a, b ModelEndpoint) int { return compareRefs(a.Ref, b.Ref) })
		b.sameGenerations(m, repl)
		return m
	}
	slices.SortFunc(m.Endpoints, func(a, b ModelEndpoint) int { return compareRefs(a.Ref, b.Ref) })
	type genPolicy struct {
		g *compiled
		p *ModelPolicy
	}
	gens := make([]genPolicy, 0, len(b.policies))
	for g, p := range b.policies {
		gens = append(gens, genPolicy{g, p})
	}
	slices.SortFunc(gens, func(a, b genPolicy) int { return comparePolicyIDs(a.p.ID, b.p.ID) })
	if len(gens) > 0 {
		m.Policies = make([]ModelPolicy, 0, len(gens))
	}
	// The users of each set, in the policies' order: sorted and distinct (a generation's sets
	// are distinct) without a sort per set.
	users := make(map[string][]PolicyID, len(b.sets))
	for _, gp := range gens {
		m.Policies = append(m.Policies, *gp.p)
		for _, id := range b.polSets[gp.g] {
			users[id] = append(users[id], gp.p.ID)
		}
	}
	if len(b.sets) > 0 {
		m.Sets = make([]ModelSet, 0, len(b.sets))
	}
	for id, s := range b.sets {
		s.Users = users[id]
		m.Sets = append(m.Sets, *s)
	}
	slices.SortFunc(m.Sets, func(a, b ModelSet) int { return strings.Compare(a.ID, b.ID) })
	if cache != nil {
		cache.remember(m, b)
	}
	return m
}

// endpointLists returns an endpoint's policy IDs per direction and the sets its policies refer
// to, reusing through the cache those of the last build when its lists hold the same generations.
func (b *modelBuilder) endpointLists(ref EndpointRef, lists [numDirections][]*compiled) (in, eg []PolicyID, sets []string) {
	var ce *cachedEndpoint
	if b.cache != nil {
		ce = b.cache.eps[ref]
		if ce != nil && slices.Equal(ce.lists[Ingress], lists[Ingress]) && slices.Equal(ce.lists[Egress], lists[Egress]) {
			ce.used = true
			return ce.ids[Ingress], ce.ids[Egress], ce.sets
		}
	}
	var ids [numDirections][]PolicyID
	for d, list := range lists {
		ids[d] = make([]PolicyID, 0, len(list))
		for _, c := range list {
			ids[d] = append(ids[d], PolicyID{Key: c.key, Slot: c.slot})
			sets = append(sets, b.polSets[c]...)
		}
	}
	slices.Sort(sets)
	sets = slices.Compact(sets)
	if b.cache != nil {
		b.cache.keepEndpoint(ref, &cachedEndpoint{
			lists: [numDirections][]*compiled{slices.Clone(lists[Ingress]), slices.Clone(lists[Egress])},
			ids:   ids, sets: sets, used: true,
		})
	}
	return ids[Ingress], ids[Egress], sets
}

func comparePolicyIDs(a, b PolicyID) int {
	return cmp.Or(
		cmp.Compare(a.Key.Kind, b.Key.Kind),
		cmp.Compare(a.Key.Namespace, b.Key.Namespace),
		cmp.Compare(a.Key.Name, b.Key.Name),
		cmp.Compare(a.Slot, b.Slot),
	)
}

// policy converts one generation (once per model).
func (b *modelBuilder) policy(c *compiled) {
	if _, ok := b.policies[c]; ok {
		return
	}
	if b.cache != nil && b.cachedPolicy(c) {
		return
	}
	var recipes []setRecipe
	b.recipes = &recipes
	defer func() { b.recipes = nil }()
	id := PolicyID{Key: c.key, Slot: c.slot}
	p := &ModelPolicy{
		ID:              id,
		Tier:            c.tier.name,
		TierDefaultPass: c.tier.defaultPass,
		Governs:         c.governs,
		FailClosed:      c.failClosed,
		Error:           c.errText,
	}
	if c.orderPtr != nil {
		o := *c.orderPtr
		p.Order = &o
	}
	var sets []string
	use := func(setID string) string {
		if setID == "" {
			return ""
		}
		sets = append(sets, setID)
		return setID
	}
	for _, dir := range []Direction{Ingress, Egress} {
		rules := make([]ModelRule, 0, len(c.rules[dir]))
		for i := range c.rules[dir] {
			rules = append(rules, b.rule(&c.rules[dir][i], use))
		}
		if dir == Egress {
			p.Egress = rules
		} else {
			p.Ingress = rules
		}
	}
	slices.Sort(sets)
	b.polSets[c] = slices.Compact(sets)
	b.policies[c] = p
	if b.cache != nil {
		b.cache.store(c, p, b.polSets[c], recipes)
	}
}

func (b *modelBuilder) rule(r *rule, use func(string) string) ModelRule {
	return ModelRule{
		Action:      r.action,
		Origin:      r.origin,
		Families:    r.fam,
		Protocol:    r.proto,
		NotProtocol: r.notProto,
		ICMP:        modelICMP(r.icmp),
		NotICMP:     modelICMP(r.notICMP),
		Source:      b.side(&r.src, use),
		Destination: b.side(&r.dst, use),
	}
}

func modelICMP(c *icmpCrit) *ModelICMP {
	if c == nil {
		return nil
	}
	return &ModelICMP{Type: c.typ, Code: c.code, HasCode: c.hasCode}
}

func (b *modelBuilder) side(s *side, use func(string) string) ModelSide {
	out := ModelSide{HasNets: s.netsSet, HasNotNets: s.notNetsSet}
	for f := range 2 {
		out.Nets[f] = slices.Clone(s.nets[f])
		out.NotNets[f] = slices.Clone(s.notNets[f])
	}
	if s.netsSet {
		out.NetsSet = use(b.netsSet(s.nets))
	}
	if s.notNetsSet {
		out.NotNetsSet = use(b.netsSet(s.notNets))
	}
	out.Selector = use(b.selectorSet(s.pos))
	out.NotSelector = use(b.selectorSet(s.neg))
	for _, list := range []struct {
		crit  []portCrit
		nums  *[]PortRange
		named *[]string
	}{{s.ports, &out.Ports, &out.NamedPorts}, {s.notPorts, &out.NotPorts, &out.NotNamedPorts}} {
		for _, pc := range list.crit {
			if pc.name == "" {
				*list.nums = append(*list.nums, PortRange{Min: pc.min, Max: pc.max})
				continue
			}
			*list.named = append(*list.named, use(b.namedPortSet(s.pos, s.namedProto, pc.name)))
		}
	}
	if s.svc != nil {
		out.Service = use(b.serviceSet(s.svc))
	}
	return out
}

// peerSetID is the selector's Calico unique ID when the peer is a plain label selector (so the
// set is named as Felix names it), else the same hash over the peer's full key (namespace
// scope, namespace and service-account selectors, names, folded notSelector).
func peerSetID(p *peerSel) string {
	if p.sel != nil && !p.scoped && !p.never && p.nsSel == nil && p.saSel == nil && p.saNames == nil && p.not == nil {
		return p.sel.UniqueID()
	}
	return contentID("s", p.key)
}

// members iterates the pods a peer selector holds, reading the index's bits.
func (b *modelBuilder) members(p *peerSel, fn func(*endpoint)) {
	if p != nil && p.scoped {
		for _, ep := range b.e.podsByNS[p.scopeNS] {
			if ep.peerBit(p.id) {
				fn(ep)
			}
		}
		return
	}
	for _, ep := range b.e.pods {
		if p == nil || ep.peerBit(p.id) {
			fn(ep)
		}
	}
}

func (b *modelBuilder) selectorSet(p *peerSel) string {
	if p == nil {
		return ""
	}
	id := peerSetID(p)
	b.record(setRecipe{id: id, kind: SetSelector, peer: p})
	return b.selectorSetID(id, p)
}

// selectorSetID adds the selector set id of p to the model (once).
func (b *modelBuilder) selectorSetID(id string, p *peerSel) string {
	if _, ok := b.sets[id]; ok {
		return id
	}
	if s := b.reuseSet(id, p); s != nil {
		b.sets[id] = s
		return id
	}
	s := &ModelSet{ID: id, Kind: SetSelector, Description: describePeer(p)}
	b.members(p, func(ep *endpoint) { s.IPs = append(s.IPs, ep.spec.IPs...) })
	s.IPs = sortedAddrs(s.IPs)
	b.sets[id] = s
	b.keepSet(s, p)
	return id
}

// namedPortSet resolves a named port exactly as portIn matches it: every pod holding the
// packet's address that matches the side's positive selector (every pod without one) and has a
// port with that name and, when the rule filters, that protocol.
func (b *modelBuilder) namedPortSet(p *peerSel, proto uint8, name string) string {
	selID := ""
	if p != nil {
		selID = peerSetID(p)
	}
	id := namedPortSetID(selID, proto, name)
	b.record(setRecipe{id: id, kind: SetNamedPort, peer: p, proto: proto, name: name})
	return b.namedPortSetID(id, p, proto, name)
}

// namedPortSetID adds the named-port set id to the model (once).
func (b *modelBuilder) namedPortSetID(id string, p *peerSel, proto uint8, name string) string {
	if _, ok := b.sets[id]; ok {
		return id
	}
	if s := b.reuseSet(id, p); s != nil {
		b.sets[id] = s
		return id
	}
	desc := "port " + name
	if proto != 0 {
		desc += "/" + protoName(proto)
	}
	if p != nil {
		desc += " of " + describePeer(p)
	}
	s := &ModelSet{ID: id, Kind: SetNamedPort, Description: desc}
	b.members(p, func(ep *endpoint) {
		for _, np := range ep.spec.Ports {
			if np.Name != name || (proto != 0 && np.Protocol != proto) {
				continue
			}
			for _, ip := range ep.spec.IPs {
				s.IPPorts = append(s.IPPorts, IPPort{Addr: ip, Proto: np.Protocol, Port: np.Port})
			}
		}
	})
	s.IPPorts = sortedIPPorts(s.IPPorts)
	b.sets[id] = s
	b.keepSet(s, p)
	return id
}

func (b *modelBuilder) serviceSet(m *svcMatch) string {
	svc := m.key.String()
	kind, prefix := SetServiceNoPort, "svcnoport"
	if m.withPorts {
		kind, prefix = SetService, "svc"
	}
	id := contentID(prefix, svc)
	b.record(setRecipe{id: id, kind: kind, svc: m})
	if _, ok := b.sets[id]; ok {
		return id
	}
	s := &ModelSet{ID: id, Kind: kind, Description: "service " + svc}
	if r := b.e.services[m.key]; r != nil {
		if m.withPorts {
			for ap := range r.addrPorts {
				s.IPPorts = append(s.IPPorts, IPPort{Addr: ap.addr, Proto: ap.proto, Port: ap.port})
			}
			s.IPPorts = sortedIPPorts(s.IPPorts)
		} else {
			for a := range r.addrs {
				s.IPs = append(s.IPs, a)
			}
			s.IPs = sortedAddrs(s.IPs)
		}
	}
	b.sets[id] = s
	return id
}

func (b *modelBuilder) netsSet(nets [2][]netip.Prefix) string {
	all := append(slices.Clone(nets[0]), nets[1]...)
	slices.SortFunc(all, comparePrefixes)
	all = slices.Compact(all)
	strs := make([]string, len(all))
	for i, p := range all {
		strs[i] = p.String()
	}
	id := contentID("net", strings.Join(strs, ","))
	s, ok := b.sets[id]
	if !ok {
		s = &ModelSet{ID: id, Kind: SetNets, Description: "nets " + strings.Join(strs, ","), Nets: all}
		b.sets[id] = s
	}
	b.record(setRecipe{id: id, kind: SetNets, nets: s})
	return id
}

// describePeer renders a peer selector in words for comments.
func describePeer(p *peerSel) string {
	var parts []string
	if p.never {
		parts = append(parts, "namespaceSelector global()")
	}
	if p.scoped {
		parts = append(parts, "namespace "+p.scopeNS)
	}
	if p.nsSel != nil {
		parts = append(parts, "namespaceSelector "+p.nsSel.String())
	}
	if p.saNames != nil {
		parts = append(parts, "serviceAccounts "+strings.Join(p.saNames, ","))
	}
	if p.saSel != nil {
		parts = append(parts, "serviceAccounts.selector "+p.saSel.String())
	}
	if p.sel != nil {
		parts = append(parts, "selector "+p.sel.String())
	}
	if p.not != nil {
		parts = append(parts, "notSelector "+p.not.String())
	}
	return strings.Join(parts, " && ")
}

func sortedAddrs(a []netip.Addr) []netip.Addr {
	slices.SortFunc(a, func(x, y netip.Addr) int { return x.Compare(y) })
	return slices.Compact(a)
}

func sortedIPPorts(a []IPPort) []IPPort {
	slices.SortFunc(a, func(x, y IPPort) int {
		return cmp.Or(x.Addr.Compare(y.Addr), cmp.Compare(x.Proto, y.Proto), cmp.Compare(x.Port, y.Port))
	})
	return slices.Compact(a)
}

func comparePrefixes(a, b netip.Prefix) int {
	return cmp.Or(a.Addr().Compare(b.Addr()), cmp.Compare(a.Bits(), b.Bits()))
}
