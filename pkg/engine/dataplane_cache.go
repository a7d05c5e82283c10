package engine

import (
	"slices"
	"strings"
	"sync"
)

// ModelCache keeps, from one node model build to the next, the conversion of every policy
// generation into its ModelPolicy and the recipes of the sets its rules refer to, so that a
// build after a change converts only the generations the change created. A compiled generation
// is immutable (an update compiles a new one), so its conversion is keyed by its identity.
//
// The ModelPolicy values of models built through one cache share their rule slices: a renderer
// may use the identity of those slices to know a generation it rendered before (pkg/render's
// Renderer does). The conversion does not depend on the chooser, so one cache serves a node
// whose chooser changes; entries of generations that the last build did not use are dropped at
// its end, so the cache holds at most what one model holds (use one cache per node: two nodes
// sharing one would evict each other's entries, correctly but to no gain). Safe for concurrent use (builds through one cache are serialised).
type ModelCache struct {
	mu   sync.Mutex
	gens map[*compiled]*cachedGen
	sets map[setKey]*cachedSet
	eps  map[EndpointRef]*cachedEndpoint
	// last is the model of the last build, lastGens the generations of its policies (in order)
	// and lastRecipes a recipe of each of its sets (in order), for a build over the same
	// generations (modelBuilder.sameGenerations).
	last        *NodeModel
	lastGens    []*compiled
	lastIndex   map[*compiled]int
	lastRecipes []setRecipe
	// sameBuilds counts the builds that took the last model's policies, replBuilds those of
	// them that converted new generations of some (for tests).
	sameBuilds, replBuilds int
}

// cachedEndpoint is what a local pod's entry in the last model was derived from (the
// generations of its lists, copied) and its derived fields: the policy IDs and the sets its
// policies refer to. A generation is immutable and its sets depend on it alone, so the same
// generations give the same fields.
type cachedEndpoint struct {
	lists [numDirections][]*compiled
	ids   [numDirections][]PolicyID
	sets  []string
	used  bool
}

func (c *ModelCache) keepEndpoint(ref EndpointRef, ce *cachedEndpoint) {
	if c.eps == nil {
		c.eps = map[EndpointRef]*cachedEndpoint{}
	}
	c.eps[ref] = ce
}

// setKey names a selector or named-port set by its ID and the interned peer selector it was
// computed from (a released and re-created selector is a new peer: its entry is not reused).
type setKey struct {
	id   string
	peer *peerSel
}

// cachedSet is a set's members as of a pod epoch (podEpochs): the members of a selector or
// named-port set depend only on the pods it ranges over (their labels, namespace and service
// account labels, addresses and ports), and every change to those pods bumps the epoch.
type cachedSet struct {
	set   ModelSet
	epoch uint64
	used  bool
}

// podEpochs count the changes to pods, per namespace: touch is called under the engine's write
// lock whenever a pod's peer-selector bits are recomputed (a pod, its namespace or its service
// account changed) and when a pod is deleted. A namespace's entry is the value of the global
// counter at its last change, so an epoch never repeats. Entries of namespaces stay (one number
// per namespace ever seen).
type podEpochs struct {
	all  uint64
	byNS map[string]uint64
}

func (p *podEpochs) touch(ns string) {
	p.all++
	if p.byNS == nil {
		p.byNS = map[string]uint64{}
	}
	p.byNS[ns] = p.all
}

// epochOf is the epoch of the pods a peer ranges over: its namespace's for a scoped peer, else
// every pod's.
func (p *podEpochs) epochOf(peer *peerSel) uint64 {
	if peer != nil && peer.scoped {
		return p.byNS[peer.scopeNS]
	}
	return p.all
}

// reuseSet returns a copy of the cached members of a selector or named-port set when no pod it
// ranges over changed since they were computed, else nil.
func (b *modelBuilder) reuseSet(id string, p *peerSel) *ModelSet {
	if b.cache == nil {
		return nil
	}
	cs := b.cache.sets[setKey{id, p}]
	if cs == nil || cs.epoch != b.e.podEpochs.epochOf(p) {
		return nil
	}
	cs.used = true
	s := cs.set
	return &s
}

// keepSet caches the members of a set just computed.
func (b *modelBuilder) keepSet(s *ModelSet, p *peerSel) {
	if b.cache == nil {
		return
	}
	if b.cache.sets == nil {
		b.cache.sets = map[setKey]*cachedSet{}
	}
	cs := &cachedSet{set: *s, epoch: b.e.podEpochs.epochOf(p), used: true}
	cs.set.Users = nil
	b.cache.sets[setKey{s.ID, p}] = cs
}

// NewModelCache returns an empty cache.
func NewModelCache() *ModelCache { return &ModelCache{gens: map[*compiled]*cachedGen{}} }

// Len is the number of generations cached (for tests of the eviction).
func (c *ModelCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.gens)
}

// Sets is the number of sets whose members are cached (for tests of the eviction).
func (c *ModelCache) Sets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sets)
}

type cachedGen struct {
	policy  ModelPolicy
	sets    []string
	recipes []setRecipe
	used    bool
}

// setRecipe says how to build one set a generation's rules refer to, with the arguments the
// conversion used (the builder's selectorSet, namedPortSet, serviceSet or netsSet).
type setRecipe struct {
	id    string
	kind  SetKind
	peer  *peerSel
	proto uint8
	name  string
	svc   *svcMatch
	nets  *ModelSet
}

func (b *modelBuilder) record(r setRecipe) {
	if b.recipes == nil {
		return
	}
	if r.nets != nil {
		cp := *r.nets
		cp.Users = nil
		r.nets = &cp
	}
	*b.recipes = append(*b.recipes, r)
}

func (c *ModelCache) store(g *compiled, p *ModelPolicy, sets []string, recipes []setRecipe) {
	if c.gens == nil {
		c.gens = map[*compiled]*cachedGen{}
	}
	c.gens[g] = &cachedGen{policy: *p, sets: sets, recipes: recipes, used: true}
}

// sweep drops the generations and sets the last build did not use. Called with mu held.
func (c *ModelCache) sweep() {
	for k, cs := range c.sets {
		if !cs.used {
			delete(c.sets, k)
			continue
		}
		cs.used = false
	}
	for g, cg := range c.gens {
		if !cg.used {
			delete(c.gens, g)
			continue
		}
		cg.used = false
	}
	for ref, ce := range c.eps {
		if !ce.used {
			delete(c.eps, ref)
			continue
		}
		ce.used = false
	}
}

// cachedPolicy adds a cached generation to the model being built, rebuilding its sets from
// their recipes (members from the index as it is now) and registering the policy as their
// user, as the conversion does. false when g is not cached.
func (b *modelBuilder) cachedPolicy(g *compiled) bool {
	cg := b.cache.gens[g]
	if cg == nil {
		return false
	}
	cg.used = true
	p := cg.policy
	for _, r := range cg.recipes {
		if _, ok := b.sets[r.id]; ok {
			continue // another generation of this build made it
		}
		switch r.kind {
		case SetSelector:
			b.selectorSetID(r.id, r.peer)
		case SetNamedPort:
			b.namedPortSetID(r.id, r.peer, r.proto, r.name)
		case SetService, SetServiceNoPort:
			b.serviceSet(r.svc)
		case SetNets:
			cp := *r.nets
			b.sets[r.id] = &cp
		}
	}
	b.policies[g] = &p
	b.polSets[g] = cg.sets
	return true
}

// remember keeps a model just built (not through sameGenerations) for the next build.
func (c *ModelCache) remember(m *NodeModel, b *modelBuilder) {
	c.last = m
	byID := make(map[PolicyID]*compiled, len(b.policies))
	recipes := make(map[string]setRecipe, len(m.Sets))
	for g, p := range b.policies {
		byID[p.ID] = g
		for _, r := range c.gens[g].recipes {
			recipes[r.id] = r
		}
	}
	c.lastGens = make([]*compiled, 0, len(m.Policies))
	c.lastIndex = make(map[*compiled]int, len(m.Policies))
	for i := range m.Policies {
		g := byID[m.Policies[i].ID]
		c.lastGens = append(c.lastGens, g)
		c.lastIndex[g] = i
	}
	c.lastRecipes = make([]setRecipe, 0, len(m.Sets))
	for i := range m.Sets {
		c.lastRecipes = append(c.lastRecipes, recipes[m.Sets[i].ID])
	}
}

func (b *modelBuilder) cacheEp(ref EndpointRef) *cachedEndpoint {
	if b.cache == nil {
		return nil
	}
	return b.cache.eps[ref]
}

// replacements compares the local pods' lists (lists, of the pods ref names) with the last
// build's. When every pod was in it, every list holds the same policies in the same order, and
// where a generation differs it is the new generation of the same policy and slot, used nowhere
// else in its old generation, and its rules refer to the same sets as the old one's: it returns
// the new generations by index in the last model's policies (converted, in b), else nil.
func (b *modelBuilder) replacements(lists [][numDirections][]*compiled, ref func(int) EndpointRef) map[int]*compiled {
	c := b.cache
	repl := map[int]*compiled{}
	kept := map[int]bool{}
	for i := range lists {
		ce := c.eps[ref(i)]
		if ce == nil {
			return nil
		}
		for d := range numDirections {
			now, was := lists[i][d], ce.lists[d]
			if len(now) != len(was) {
				return nil
			}
			for k, g := range now {
				old := was[k]
				at, ok := c.lastIndex[old]
				if !ok {
					return nil
				}
				if g == old {
					kept[at] = true
					continue
				}
				if g.key != old.key || g.slot != old.slot || (repl[at] != nil && repl[at] != g) {
					return nil
				}
				repl[at] = g
			}
		}
	}
	if len(repl) == 0 || 2*len(repl) > len(c.lastGens) {
		return nil // nothing replaced (a pod's lists reordered), or too much to gain
	}
	for at, g := range repl {
		if kept[at] {
			return nil
		}
		b.policy(g)
		if !slices.Equal(b.polSets[g], c.gens[c.lastGens[at]].sets) {
			return nil
		}
	}
	return repl
}

// sameGenerations completes a model whose endpoints hold exactly the generations of the last
// build's, but for repl (new generations of the same policies, by index in the last model's
// policies, with the same sets): its policies are the last model's (shared when repl is empty),
// and its sets' IDs and users are the last model's; a set's members are the last model's while
// no pod it ranges over changed (the epochs), else computed again, and a service's are computed
// again (they have no epoch). Cost: one check per set and per replaced generation, nothing per
// policy.
func (b *modelBuilder) sameGenerations(m *NodeModel, repl map[int]*compiled) {
	c := b.cache
	c.sameBuilds++
	m.Policies = c.last.Policies
	if len(repl) > 0 {
		c.replBuilds++
		m.Policies = slices.Clone(m.Policies)
		for at, g := range repl {
			delete(c.lastIndex, c.lastGens[at])
			c.lastGens[at] = g
			c.lastIndex[g] = at
			m.Policies[at] = *b.policies[g]
			// The new generation's recipes name the peers it holds (the old one's may be
			// released). Its sets are the old one's, so each is in the last model's (sorted).
			for _, r := range c.gens[g].recipes {
				if i, ok := slices.BinarySearchFunc(c.last.Sets, r.id, func(s ModelSet, id string) int { return strings.Compare(s.ID, id) }); ok {
					c.lastRecipes[i] = r
				}
			}
		}
	}
	for _, g := range c.lastGens {
		c.gens[g].used = true
	}
	m.Sets = c.last.Sets
	copied := false
	for i, r := range c.lastRecipes {
		last := &c.last.Sets[i]
		var fresh *ModelSet
		switch r.kind {
		case SetSelector, SetNamedPort:
			// A set this build made already (a replaced generation's conversion, above) has the
			// members as they are now: the last model's are kept only when they are the same
			// slices. Checking the cache alone is not enough: that conversion stores what it
			// computed as current, so a pod that left or joined the set since the last build
			// would keep its old membership, and keep it while no other pod changed.
			if made := b.sets[r.id]; made != nil {
				if sameMembers(made, last) {
					continue
				}
				fresh = made
				break
			}
			if s := b.reuseSet(r.id, r.peer); s != nil && sameMembers(s, last) {
				continue
			}
			if r.kind == SetSelector {
				b.selectorSetID(r.id, r.peer)
			} else {
				b.namedPortSetID(r.id, r.peer, r.proto, r.name)
			}
			fresh = b.sets[r.id]
		case SetService, SetServiceNoPort:
			b.serviceSet(r.svc)
			fresh = b.sets[r.id]
			if slices.Equal(fresh.IPs, last.IPs) && slices.Equal(fresh.IPPorts, last.IPPorts) {
				continue
			}
		default:
			continue // nets: the ID says the members
		}
		if !copied {
			m.Sets = slices.Clone(m.Sets)
			copied = true
		}
		fresh.Users = last.Users
		m.Sets[i] = *fresh
	}
	c.last = m
}

// sameMembers says whether two sets hold the very same member slices (as a set taken from the
// cache holds those of the model it was cached from): then they are equal without comparing.
func sameMembers(a, b *ModelSet) bool {
	return sameSlice(a.IPs, b.IPs) && sameSlice(a.Nets, b.Nets) && sameSlice(a.IPPorts, b.IPPorts)
}

func sameSlice[T any](a, b []T) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}
