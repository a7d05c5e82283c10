package render

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Renderer renders node models as Render does, keeping the chains and sets of its last render so
// that the next one renders only what changed: a sync after one change then costs about what
// the change touched rather than what the whole node holds. The output is byte-for-byte that of
// Render on the same model (renderer_test.go holds it to that over random engine changes).
//
// What it reuses, and why that is safe:
//   - a policy generation's chain (typed and text) for one direction and family, while the
//     model's ModelPolicy is the same generation: same scalar fields and the very same rule
//     slices. The engine's models built through one engine.ModelCache share the rule slices of
//     every generation they converted before (an update compiles a new generation, with new
//     slices); models built without a cache never match, and are rendered in full. The chain's
//     text depends on nothing else (set names are derived from set IDs, which the rules hold);
//   - a local pod's chain for one direction and family, while its policy list, the generations
//     on it and its shadowed candidates are the same;
//   - a set's text, while its members are equal (compared, not trusted).
//
// Entries that the last render did not use are dropped at its end, so the caches hold at most
// what one node's ruleset holds. A Renderer is pure (no clock, no I/O) and safe for concurrent
// use (renders are serialised). The model must not be written to, as the engine's contract says.
type Renderer struct {
	opts Options

	mu   sync.Mutex
	last Reuse
	pols map[polKey]*polEntry
	eps  map[epKey]*epEntry
	sets map[string]*setEntry
	// prev is what the last successful render rendered and made, for a render of a model with
	// the same policies (samePolicies); nil until then and after an error.
	prev *prevRender
}

// prevRender is the last render: its model's policies, endpoints and sets (the model's own
// slices: a model is immutable), the identity of each set's members, where each set is in
// each family's output (-1 when absent), the output, and what it counted.
type prevRender struct {
	policies  []engine.ModelPolicy
	endpoints []engine.ModelEndpoint
	sets      []engine.ModelSet
	srcs      []memberSlices
	pos       [2][]int
	out       [2]Ruleset
	reuse     Reuse
	// chainAt is where each chain is in each family's output.
	chainAt [2]map[string]int
}

type polKey struct {
	id  engine.PolicyID
	dir engine.Direction
	fam Family
}

type polEntry struct {
	src   engine.ModelPolicy
	chain Chain
	text  []string
	// subs are the alternatives chains the chain jumps to, and subTexts their texts.
	subs     []Chain
	subTexts [][]string
	// sets are the model set IDs the chain refers to (sorted, distinct) and names their kernel
	// names in the chain's family.
	sets, names []string
	used        bool
}

type epKey struct {
	ref engine.EndpointRef
	dir engine.Direction
	fam Family
}

type epEntry struct {
	ids  []engine.PolicyID
	srcs []engine.ModelPolicy
	// pols are the policy chains the chain jumps to, by index in ids (nil for a policy that
	// fails closed): on a hit they are registered as they are, without naming them again.
	pols   []*polEntry
	shadow []engine.PolicyKey
	chain  Chain
	text   []string
	used   bool
}

type setEntry struct {
	def  SetDef
	text Set
	used bool
	// src are the model set's member slices def was made from: a model set handed over with
	// the same slices (the engine's ModelCache shares the members of a set no pod change
	// touched) makes the same def, without copying its members.
	src memberSlices
}

// memberSlices is the identity of a model set's members.
type memberSlices struct {
	kind    engine.SetKind
	ips     *netip.Addr
	nets    *netip.Prefix
	ipPorts *engine.IPPort
	n       [3]int
}

func membersOf(ms *engine.ModelSet) memberSlices {
	out := memberSlices{kind: ms.Kind, n: [3]int{len(ms.IPs), len(ms.Nets), len(ms.IPPorts)}}
	if len(ms.IPs) > 0 {
		out.ips = &ms.IPs[0]
	}
	if len(ms.Nets) > 0 {
		out.nets = &ms.Nets[0]
	}
	if len(ms.IPPorts) > 0 {
		out.ipPorts = &ms.IPPorts[0]
	}
	return out
}

// cachedSetDef returns the def of the last render for a set whose model members are the same
// slices, or nil.
func (r *Renderer) cachedSetDef(name, id string, ms *engine.ModelSet) *SetDef {
	e := r.sets[name]
	if e == nil || e.def.ModelID != id || e.src != membersOf(ms) {
		return nil
	}
	return &e.def
}

// Reuse counts what one render took from the cache, over both families.
type Reuse struct {
	PolicyChains, EndpointChains, Sets int
	// SetsOnly: the model had the last render's policies and endpoints, so every chain of the
	// last render was taken as it was and only the sets whose members changed were made again.
	SetsOnly bool
	// InPlace counts the chains made again and put in place of the last render's, when the
	// model had the last render's policies but for new generations of some (a policy's rules
	// edited): every other chain was taken as it was.
	InPlace int
}

// LastReuse returns what the last render reused.
func (r *Renderer) LastReuse() Reuse {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// NewRenderer returns a Renderer with the options, checked as Build checks them.
func NewRenderer(opts Options) (*Renderer, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Renderer{opts: opts, pols: map[polKey]*polEntry{}, eps: map[epKey]*epEntry{}, sets: map[string]*setEntry{}}, nil
}

// Render is render.Render(m, opts) reusing what the last render made of the unchanged parts.
// After an error, the caches are left as they were before the call.
func (r *Renderer) Render(m *engine.NodeModel) (v4, v6 Ruleset, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.last = Reuse{}
	if m != nil && r.prev != nil && r.samePolicies(m) {
		out, err := r.renderSets(m)
		if err == nil {
			return out[IPv4], out[IPv6], nil
		}
		r.prev = nil // render in full, which reports the error
	}
	if m != nil && r.prev != nil {
		if changed := r.changedPolicies(m); changed != nil {
			if out, ok := r.renderChanged(m, changed); ok {
				return out[IPv4], out[IPv6], nil
			}
			r.last = Reuse{}
		}
	}
	r.prev = nil
	progs, texts, err := build(m, r.opts, r)
	if err != nil {
		// Entries added by the failed render are kept (they are correct); marks are reset.
		r.sweep(false)
		return Ruleset{}, Ruleset{}, err
	}
	modelSets := make(map[string]*engine.ModelSet, len(m.Sets))
	for i := range m.Sets {
		modelSets[m.Sets[i].ID] = &m.Sets[i]
	}
	out := [2]Ruleset{r.ruleset(progs[IPv4], texts[IPv4], modelSets), r.ruleset(progs[IPv6], texts[IPv6], modelSets)}
	r.sweep(true)
	r.remember(m, out)
	return out[IPv4], out[IPv6], nil
}

// remember keeps a full render for the next one.
func (r *Renderer) remember(m *engine.NodeModel, out [2]Ruleset) {
	p := &prevRender{policies: m.Policies, endpoints: m.Endpoints, sets: m.Sets, out: out, srcs: make([]memberSlices, len(m.Sets))}
	p.reuse = Reuse{PolicyChains: len(r.pols), EndpointChains: len(r.eps)}
	for f := range out {
		at := make(map[string]int, len(out[f].Sets))
		for i, s := range out[f].Sets {
			at[s.Name] = i
		}
		p.pos[f] = make([]int, len(m.Sets))
		for i := range m.Sets {
			p.pos[f][i] = -1
			if j, ok := at[setName(Family(f), m.Sets[i].ID)]; ok {
				p.pos[f][i] = j
			}
		}
		p.reuse.Sets += len(out[f].Sets)
		p.chainAt[f] = map[string]int{}
		for _, t := range out[f].Tables {
			for i, c := range t.Chains {
				p.chainAt[f][c.Name] = i
			}
		}
	}
	for i := range m.Sets {
		p.srcs[i] = membersOf(&m.Sets[i])
	}
	r.prev = p
}

// samePolicies says whether m has the last render's policies (the very same values: the
// engine's ModelCache hands over the last model's policies when the node's generations did not
// change), its endpoints with the same addresses, policy lists and shadowed candidates, and sets
// with the same IDs. Every chain is then the same as in the last render; only the sets' members
// may differ.
func (r *Renderer) samePolicies(m *engine.NodeModel) bool {
	p := r.prev
	if len(m.Policies) != len(p.policies) || len(m.Endpoints) != len(p.endpoints) || len(m.Sets) != len(p.sets) {
		return false
	}
	if len(m.Policies) > 0 && &m.Policies[0] != &p.policies[0] {
		return false
	}
	return r.sameEndpointsAndSets(m)
}

// sameEndpointsAndSets says whether m has the last render's endpoints (addresses, policy lists,
// shadowed candidates) and sets (IDs and kinds, in order); the lengths are known equal.
func (r *Renderer) sameEndpointsAndSets(m *engine.NodeModel) bool {
	p := r.prev
	for i := range m.Endpoints {
		a, b := &m.Endpoints[i], &p.endpoints[i]
		if a.Ref != b.Ref || !slices.Equal(a.IPs, b.IPs) || !slices.Equal(a.Ingress, b.Ingress) || !slices.Equal(a.Egress, b.Egress) ||
			!slices.Equal(a.ShadowIngress, b.ShadowIngress) || !slices.Equal(a.ShadowEgress, b.ShadowEgress) {
			return false
		}
	}
	if len(m.Sets) > 0 && &m.Sets[0] == &p.sets[0] {
		return true
	}
	for i := range m.Sets {
		if m.Sets[i].ID != p.sets[i].ID || m.Sets[i].Kind != p.sets[i].Kind {
			return false
		}
	}
	return true
}

// renderSets renders a model with the last render's policies (samePolicies): the chains are the
// last render's, and only the sets whose members changed are made again. Nothing is dropped
// from the caches: the output uses what the last one used.
func (r *Renderer) renderSets(m *engine.NodeModel) ([2]Ruleset, error) {
	p := r.prev
	r.last = p.reuse
	r.last.SetsOnly = true
	out, err := r.updateSets(m, p.out)
	if err != nil {
		return out, err
	}
	p.out, p.policies, p.endpoints = out, m.Policies, m.Endpoints
	return out, nil
}

// updateSets makes again, in out (the last output, copied where it changes), the sets whose
// members changed since the last render; m has the last render's sets (the same IDs, in the
// same order).
func (r *Renderer) updateSets(m *engine.NodeModel, out [2]Ruleset) ([2]Ruleset, error) {
	p := r.prev
	copied := [2]bool{}
	for i := range m.Sets {
		ms := &m.Sets[i]
		src := membersOf(ms)
		if src == p.srcs[i] {
			continue
		}
		for f := range out {
			at := p.pos[f][i]
			if at < 0 {
				continue
			}
			name := setName(Family(f), ms.ID)
			def, err := setDefFor(Family(f), name, ms.ID, ms)
			if err != nil {
				return out, err
			}
			e := r.sets[name]
			if e == nil || !sameSet(&e.def, def) {
				e = &setEntry{def: *def, text: def.text()}
				r.sets[name] = e
				r.last.Sets--
			}
			e.src = src
			if !copied[f] {
				out[f].Sets = slices.Clone(out[f].Sets)
				copied[f] = true
			}
			out[f].Sets[at] = e.text
		}
		p.srcs[i] = src // the caller forgets p on an error
	}
	p.sets = m.Sets
	return out, nil
}

// changedPolicies returns, when m has the last render's endpoints and sets and the same
// policies in the same order but for a few in a new generation with the same tier, state and
// directions (a policy's rules edited), their indexes in m.Policies; else nil.
func (r *Renderer) changedPolicies(m *engine.NodeModel) []int {
	p := r.prev
	if len(m.Policies) != len(p.policies) || len(m.Endpoints) != len(p.endpoints) || len(m.Sets) != len(p.sets) {
		return nil
	}
	if !r.sameEndpointsAndSets(m) {
		return nil
	}
	var changed []int
	for i := range m.Policies {
		a, b := &m.Policies[i], &p.policies[i]
		if a.ID != b.ID {
			return nil
		}
		if samePolicy(a, b) {
			continue
		}
		if a.Tier != b.Tier || a.TierDefaultPass != b.TierDefaultPass || a.Governs != b.Governs || a.FailClosed != b.FailClosed || a.Error != b.Error {
			return nil
		}
		changed = append(changed, i)
		if 2*len(changed) > len(m.Policies) {
			return nil
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return changed
}

// renderChanged renders a model whose policies at changed are new generations of the last
// render's (changedPolicies): their chains and the chains of the endpoints that jump to them are
// made again and put in place of the old ones; every other chain is the last render's, and the
// sets are updated as renderSets does. It reports false when the change does not fit in place
// (a chain appears or disappears, or uses other sets); the caller then renders in full.
func (r *Renderer) renderChanged(m *engine.NodeModel, changed []int) ([2]Ruleset, bool) {
	p := r.prev
	r.last = p.reuse
	out := p.out
	// The policies of the endpoints whose chains are made again (every chain made here is of
	// one of them); the sets are looked up in the model (sorted by ID).
	pols := map[engine.PolicyID]*engine.ModelPolicy{}
	for j := range m.Endpoints {
		ep := &m.Endpoints[j]
		for _, dir := range []engine.Direction{engine.Ingress, engine.Egress} {
			ids := ep.Policies(dir)
			if !slices.ContainsFunc(changed, func(i int) bool { return slices.Contains(ids, m.Policies[i].ID) }) {
				continue
			}
			for _, id := range ids {
				if _, ok := pols[id]; ok {
					continue
				}
				at, ok := slices.BinarySearchFunc(m.Policies, id, func(p engine.ModelPolicy, id engine.PolicyID) int { return comparePolicyIDs(p.ID, id) })
				if !ok {
					return out, false
				}
				pols[id] = &m.Policies[at]
			}
		}
	}
	for f := range out {
		fam := Family(f)
		b := &builder{fam: fam, opts: r.opts, model: m, pols: pols,
			sets: map[string]*SetDef{}, polChains: map[string]*Chain{}, cache: r, texts: map[string][]string{}}
		var chains []ChainText
		replace := func(name string, text []string) bool {
			at, ok := p.chainAt[f][name]
			if !ok {
				return false
			}
			if chains == nil {
				chains = slices.Clone(out[f].Tables[0].Chains)
			}
			chains[at] = ChainText{Name: name, Rules: text}
			r.last.InPlace++
			return true
		}
		isFam := func(ep *engine.ModelEndpoint) bool {
			return slices.ContainsFunc(ep.IPs, func(a netip.Addr) bool { return a.Is6() == (fam == IPv6) })
		}
		for _, i := range changed {
			pol := &m.Policies[i]
			for _, dir := range []engine.Direction{engine.Ingress, engine.Egress} {
				used := false
				for j := range m.Endpoints {
					ep := &m.Endpoints[j]
					if isFam(ep) && slices.Contains(ep.Policies(dir), pol.ID) {
						used = true
						break
					}
				}
				if !used || pol.FailClosed {
					continue // not in the program, then or now
				}
				k := polKey{id: pol.ID, dir: dir, fam: fam}
				old := r.pols[k]
				if old == nil {
					return out, false
				}
				name, ok, err := b.policyChain(pol, dir)
				if err != nil {
					return out, false
				}
				_, was := p.chainAt[f][name]
				cur := r.pols[k]
				if ok != was || !slices.Equal(cur.sets, old.sets) || !sameChainNames(cur.subs, old.subs) {
					return out, false
				}
				r.last.PolicyChains--
				if ok && !replace(name, cur.text) {
					return out, false
				}
				for si, sc := range cur.subs {
					if !replace(sc.Name, cur.subTexts[si]) {
						return out, false
					}
				}
			}
		}
		for j := range m.Endpoints {
			ep := &m.Endpoints[j]
			if !isFam(ep) {
				continue
			}
			for _, dir := range []engine.Direction{engine.Egress, engine.Ingress} {
				if !slices.ContainsFunc(changed, func(i int) bool { return slices.Contains(ep.Policies(dir), m.Policies[i].ID) }) {
					continue
				}
				c, err := b.endpointChain(ep, dir)
				if err != nil {
					return out, false
				}
				r.last.EndpointChains--
				if !replace(c.Name, b.texts[c.Name]) {
					return out, false
				}
			}
		}
		if chains != nil {
			out[f].Tables = []Table{{Name: out[f].Tables[0].Name, Chains: chains}}
		}
	}
	out, err := r.updateSets(m, out)
	if err != nil {
		return out, false
	}
	p.out, p.policies, p.endpoints = out, m.Policies, m.Endpoints
	return out, true
}

// sameChainNames reports whether a and b are chains of the same names, in order.
func sameChainNames(a, b []Chain) bool {
	return slices.EqualFunc(a, b, func(x, y Chain) bool { return x.Name == y.Name })
}

// sweep drops the entries the last render did not use (when drop) and clears the marks.
func (r *Renderer) sweep(drop bool) {
	for k, e := range r.pols {
		if drop && !e.used {
			delete(r.pols, k)
		}
		e.used = false
	}
	for k, e := range r.eps {
		if drop && !e.used {
			delete(r.eps, k)
		}
		e.used = false
	}
	for k, e := range r.sets {
		if drop && !e.used {
			delete(r.sets, k)
		}
		e.used = false
	}
}

// Len returns the number of policy chains, endpoint chains and sets cached (for tests).
func (r *Renderer) Len() (policies, endpoints, sets int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pols), len(r.eps), len(r.sets)
}

// ruleset is Program.Ruleset with the text of reused chains and unchanged sets taken as is.
func (r *Renderer) ruleset(p *Program, texts map[string][]string, modelSets map[string]*engine.ModelSet) Ruleset {
	t := Table{Name: "filter", Chains: make([]ChainText, 0, len(p.Chains))}
	for _, c := range p.Chains {
		if txt, ok := texts[c.Name]; ok {
			t.Chains = append(t.Chains, ChainText{Name: c.Name, Rules: txt})
			continue
		}
		t.Chains = append(t.Chains, ChainText{Name: c.Name, Rules: chainText(c)})
	}
	out := Ruleset{Tables: []Table{t}}
	for i := range p.Sets {
		s := &p.Sets[i]
		e := r.sets[s.Name]
		if e == nil || !sameSet(&e.def, s) {
			e = &setEntry{def: *s, text: s.text()}
			r.sets[s.Name] = e
		} else {
			r.last.Sets++
		}
		if ms := modelSets[s.ModelID]; ms != nil {
			e.src = membersOf(ms)
		}
		e.used = true
		out.Sets = append(out.Sets, e.text)
	}
	return out
}

func chainText(c Chain) []string {
	out := make([]string, len(c.Rules))
	for i, rule := range c.Rules {
		out[i] = rule.Render()
	}
	return out
}

func sameSet(a, b *SetDef) bool {
	return a.Name == b.Name && a.Type == b.Type && a.Family == b.Family && a.ModelID == b.ModelID &&
		sameOrEqual(a.IPs, b.IPs) && sameOrEqual(a.Nets, b.Nets) && sameOrEqual(a.IPPorts, b.IPPorts)
}

// sameOrEqual is slices.Equal, at once when both are the same slice.
func sameOrEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// samePolicy says whether two ModelPolicy values are the same generation as the engine's
// ModelCache hands it out: equal scalar fields and the same rule slices (identity, not content).
func samePolicy(a, b *engine.ModelPolicy) bool {
	if a.ID != b.ID || a.Tier != b.Tier || a.TierDefaultPass != b.TierDefaultPass || a.Governs != b.Governs ||
		a.FailClosed != b.FailClosed || a.Error != b.Error {
		return false
	}
	if (a.Order == nil) != (b.Order == nil) || (a.Order != nil && *a.Order != *b.Order) {
		return false
	}
	return sameSlice(a.Ingress, b.Ingress) && sameSlice(a.Egress, b.Egress)
}

func sameSlice(a, b []engine.ModelRule) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// cachedPolicyChain is policyChain through the cache.
func (b *builder) cachedPolicyChain(p *engine.ModelPolicy, dir engine.Direction, name string) (string, bool, error) {
	k := polKey{id: p.ID, dir: dir, fam: b.fam}
	e := b.cache.pols[k]
	if e == nil || !samePolicy(&e.src, p) {
		var used []string
		b.usedSets = &used
		c, subs, err := b.buildPolicyChain(p, dir, name)
		b.usedSets = nil
		if err != nil {
			return "", false, err
		}
		slices.Sort(used)
		used = slices.Compact(used)
		e = &polEntry{src: *p, chain: *c, text: chainText(*c), subs: subs, sets: used, names: make([]string, len(used))}
		for _, sc := range subs {
			e.subTexts = append(e.subTexts, chainText(sc))
		}
		for i, id := range used {
			e.names[i] = setName(b.fam, id)
		}
		b.cache.pols[k] = e
		if err := b.registerPolicyChain(e, false); err != nil {
			return "", false, fmt.Errorf("policy %s %s: %w", p.ID, dir, err)
		}
		return name, len(e.chain.Rules) > 0, nil
	}
	if err := b.registerPolicyChain(e, true); err != nil {
		return "", false, fmt.Errorf("policy %s %s: %w", p.ID, dir, err)
	}
	return name, len(e.chain.Rules) > 0, nil
}

// registerPolicyChain adds a cached policy chain to the program being built, with the sets it
// refers to when reused (a chain just built registered them as it was built).
func (b *builder) registerPolicyChain(e *polEntry, reused bool) error {
	name := e.chain.Name
	if _, done := b.polChains[name]; done {
		return nil
	}
	if reused {
		b.cache.last.PolicyChains++
		for i, id := range e.sets {
			if err := b.useSetNamed(id, e.names[i]); err != nil {
				return err
			}
		}
	}
	e.used = true
	b.polChains[name] = &e.chain
	b.texts[name] = e.text
	for i := range e.subs {
		b.polChains[e.subs[i].Name] = &e.subs[i]
		b.texts[e.subs[i].Name] = e.subTexts[i]
	}
	return nil
}

// cachedEndpointChain is endpointChain through the cache. On a hit the policy chains it jumps
// to are still registered (as they are when they are the same generations, else through
// policyChain, itself cached), so that the program holds them.
func (b *builder) cachedEndpointChain(ep *engine.ModelEndpoint, dir engine.Direction) (Chain, error) {
	k := epKey{ref: ep.Ref, dir: dir, fam: b.fam}
	ids := ep.Policies(dir)
	e := b.cache.eps[k]
	hit := e != nil && slices.Equal(e.ids, ids) && slices.Equal(e.shadow, ep.Shadowed(dir))
	for i, id := range ids {
		p := b.pols[id]
		if p == nil {
			return Chain{}, fmt.Errorf("endpoint %s: policy %s is not in the model", ep.Ref, id)
		}
		if hit && !samePolicy(&e.srcs[i], p) {
			hit = false
		}
		if p.FailClosed {
			continue
		}
		if hit && e.pols[i] != nil {
			if err := b.registerPolicyChain(e.pols[i], true); err != nil {
				return Chain{}, fmt.Errorf("policy %s %s: %w", p.ID, dir, err)
			}
			continue
		}
		if _, _, err := b.policyChain(p, dir); err != nil {
			return Chain{}, err
		}
	}
	if hit {
		b.cache.last.EndpointChains++
	} else {
		c, err := b.buildEndpointChain(ep, dir)
		if err != nil {
			return Chain{}, err
		}
		e = &epEntry{ids: slices.Clone(ids), shadow: slices.Clone(ep.Shadowed(dir)), chain: c, text: chainText(c),
			pols: make([]*polEntry, len(ids))}
		for i, id := range ids {
			p := b.pols[id]
			e.srcs = append(e.srcs, *p)
			if !p.FailClosed {
				e.pols[i] = b.cache.pols[polKey{id: id, dir: dir, fam: b.fam}]
			}
		}
		b.cache.eps[k] = e
	}
	e.used = true
	b.texts[e.chain.Name] = e.text
	return e.chain, nil
}

// comparePolicyIDs orders policy IDs as the engine sorts a model's policies.
func comparePolicyIDs(a, b engine.PolicyID) int {
	return cmp.Or(
		cmp.Compare(a.Key.Kind, b.Key.Kind),
		cmp.Compare(a.Key.Namespace, b.Key.Namespace),
		cmp.Compare(a.Key.Name, b.Key.Name),
		cmp.Compare(a.Slot, b.Slot),
	)
}
