package engine

import "sync"

// ModelCache keeps, from one node model build to the next, the conversion of every policy
// generation into its ModelPolicy and the recipes of the sets its rules refer to, so that a
// build after a change converts only the generations the change created. A compiled generation
// is immutable (an update compiles a new one), so its conversion is keyed by its identity. Set
// members are not cached: they are recomputed from the index at every build, as NodeModel does.
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
}

// NewModelCache returns an empty cache.
func NewModelCache() *ModelCache { return &ModelCache{gens: map[*compiled]*cachedGen{}} }

// Len is the number of generations cached (for tests of the eviction).
func (c *ModelCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.gens)
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

// sweep drops the generations the last build did not use. Called with mu held.
func (c *ModelCache) sweep() {
	for g, cg := range c.gens {
		if !cg.used {
			delete(c.gens, g)
			continue
		}
		cg.used = false
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
		switch r.kind {
		case SetSelector:
			b.selectorSet(r.peer)
		case SetNamedPort:
			b.namedPortSet(r.peer, r.proto, r.name)
		case SetService, SetServiceNoPort:
			b.serviceSet(r.svc)
		case SetNets:
			if _, ok := b.sets[r.id]; !ok {
				cp := *r.nets
				b.sets[r.id] = &cp
			}
		}
		u := b.users[r.id]
		if u == nil {
			u = map[PolicyID]struct{}{}
			b.users[r.id] = u
		}
		u[p.ID] = struct{}{}
	}
	b.policies[g] = &p
	b.polSets[g] = cg.sets
	return true
}
