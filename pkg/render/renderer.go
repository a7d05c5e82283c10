package render

import (
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
	return out[IPv4], out[IPv6], nil
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
		c, err := b.buildPolicyChain(p, dir, name)
		b.usedSets = nil
		if err != nil {
			return "", false, err
		}
		slices.Sort(used)
		used = slices.Compact(used)
		e = &polEntry{src: *p, chain: *c, text: chainText(*c), sets: used, names: make([]string, len(used))}
		for i, id := range used {
			e.names[i] = setName(b.fam, id)
		}
		b.cache.pols[k] = e
		b.registerPolicyChain(e, false)
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
