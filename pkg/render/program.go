package render

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"strings"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Family is an IP family: IPv4 renders into iptables and inet sets, IPv6 into ip6tables and
// inet6 sets.
type Family uint8

// Families, indexed as the engine indexes them.
const (
	IPv4 Family = 0
	IPv6 Family = 1
)

func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

func (f Family) digit() string {
	if f == IPv6 {
		return "6"
	}
	return "4"
}

func (f Family) ipsetFamily() string {
	if f == IPv6 {
		return "inet6"
	}
	return "inet"
}

// SetType is an ipset type.
type SetType string

// The ipset types Palisade uses.
const (
	HashIP     SetType = "hash:ip"
	HashNet    SetType = "hash:net"
	HashIPPort SetType = "hash:ip,port"
)

// SetDef is one typed ipset of one family; exactly one of IPs, Nets, IPPorts is used, by Type.
type SetDef struct {
	Name    string
	Type    SetType
	Family  Family
	ModelID string
	IPs     []netip.Addr
	Nets    []netip.Prefix
	IPPorts []engine.IPPort
}

// Program is one node's rules for one IP family as typed values: the chains (PAL-FORWARD first,
// then the dispatch chains, the endpoint chains and the policy chains, each group sorted by
// name) and the sets they refer to (sorted by name).
type Program struct {
	Family Family
	Chains []Chain
	Sets   []SetDef
}

// Chain returns the chain with that name, or nil.
func (p *Program) Chain(name string) *Chain {
	for i := range p.Chains {
		if p.Chains[i].Name == name {
			return &p.Chains[i]
		}
	}
	return nil
}

// Options are the renderer's knobs. The mark bits must be distinct single bits that nothing
// else on the node uses.
type Options struct {
	// MarkAccept is set when a pod's policy allowed the packet in one direction.
	MarkAccept uint32
	// MarkPass is set when a policy passed the packet to the next tier.
	MarkPass uint32
	// MarkScratch0 and MarkScratch1 carry partial results of rules that need several iptables
	// rules (OR-ed port lists, notICMP without a protocol).
	MarkScratch0, MarkScratch1 uint32
	// NFLogGroup is the NFLOG group of Log rules.
	NFLogGroup uint16
	// Observe configures the observation samples (observe.go); its zero value renders none.
	Observe Observation
	// DispatchFanout is the most addresses a dispatch chain tests one by one; beyond it the
	// addresses are split by prefix into a tree of chains, so that a new flow walks a few
	// dozen rules rather than one per local pod. 0 means the default (16); at least 2.
	DispatchFanout int
}

// DefaultOptions returns the marks Felix allocates by default (accept 0x10000, pass 0x20000,
// then two scratch bits), NFLOG group 1 for Log rules and DefaultObservation.
func DefaultOptions() Options {
	return Options{MarkAccept: 0x10000, MarkPass: 0x20000, MarkScratch0: 0x40000, MarkScratch1: 0x80000, NFLogGroup: 1,
		Observe: DefaultObservation()}
}

// Validate checks the options as Build does: distinct single-bit marks, a fanout of 0 or at least 2,
// and observation settings within what the kernel takes.
func (o Options) Validate() error { return o.validate() }

func (o Options) validate() error {
	if o.DispatchFanout == 1 || o.DispatchFanout < 0 {
		return fmt.Errorf("render options: dispatch fanout %d: want 0 (default) or at least 2", o.DispatchFanout)
	}
	marks := []uint32{o.MarkAccept, o.MarkPass, o.MarkScratch0, o.MarkScratch1}
	var all uint32
	for _, m := range marks {
		if bits.OnesCount32(m) != 1 {
			return fmt.Errorf("render options: mark %#x is not a single bit", m)
		}
		if all&m != 0 {
			return fmt.Errorf("render options: mark %#x is used twice", m)
		}
		all |= m
	}
	return o.Observe.validate(o.NFLogGroup)
}

func (o Options) allMarks() uint32 {
	return o.MarkAccept | o.MarkPass | o.MarkScratch0 | o.MarkScratch1
}

// Render builds both families' programs and renders them as text.
func Render(m *engine.NodeModel, opts Options) (v4, v6 Ruleset, err error) {
	p4, p6, err := Build(m, opts)
	if err != nil {
		return Ruleset{}, Ruleset{}, err
	}
	return p4.Ruleset(), p6.Ruleset(), nil
}

// Build turns one node's model into typed programs, one per IP family.
func Build(m *engine.NodeModel, opts Options) (v4, v6 *Program, err error) {
	p, _, err := build(m, opts, nil)
	if err != nil {
		return nil, nil, err
	}
	return p[IPv4], p[IPv6], nil
}

// build is Build with an optional cache; texts are, per family, the text of the chains reused
// from the cache (nil without one).
func build(m *engine.NodeModel, opts Options, cache *Renderer) (progs [2]*Program, texts [2]map[string][]string, err error) {
	if m == nil {
		return progs, texts, errors.New("rendering: nil node model")
	}
	if err := opts.validate(); err != nil {
		return progs, texts, err
	}
	pols := make(map[engine.PolicyID]*engine.ModelPolicy, len(m.Policies))
	for i := range m.Policies {
		pols[m.Policies[i].ID] = &m.Policies[i]
	}
	sets := make(map[string]*engine.ModelSet, len(m.Sets))
	for i := range m.Sets {
		sets[m.Sets[i].ID] = &m.Sets[i]
	}
	for _, f := range []Family{IPv4, IPv6} {
		b := &builder{
			fam: f, opts: opts, model: m, pols: pols, modelSets: sets,
			sets: make(map[string]*SetDef, len(m.Sets)), polChains: make(map[string]*Chain, 2*len(m.Policies)),
			cache: cache,
		}
		if cache != nil {
			b.texts = make(map[string][]string, 2*len(m.Policies)+2*len(m.Endpoints))
		}
		p, err := b.build()
		if err != nil {
			return progs, texts, fmt.Errorf("rendering node %s for %s: %w", m.Node, f, err)
		}
		progs[f], texts[f] = p, b.texts
	}
	return progs, texts, nil
}

// builder renders one family.
type builder struct {
	fam       Family
	opts      Options
	model     *engine.NodeModel
	pols      map[engine.PolicyID]*engine.ModelPolicy
	modelSets map[string]*engine.ModelSet

	sets      map[string]*SetDef
	polChains map[string]*Chain

	// cache, when not nil, is the Renderer whose chains of earlier renders this build reuses
	// (renderer.go); texts collects the text of the chains it reused, by name; usedSets, when
	// not nil, records the sets the policy chain being built uses.
	cache    *Renderer
	texts    map[string][]string
	usedSets *[]string
}

func (b *builder) build() (*Program, error) {
	o := b.opts
	forward := Chain{Name: ChainForward, Rules: []Rule{
		{Match: M().CTState("RELATED", "ESTABLISHED"), Action: Accept{}, Comment: "Palisade: packets of established flows were allowed when the flow started"},
		{Match: M().CTState("INVALID"), Action: Drop{}, Comment: "Palisade: conntrack says invalid"},
		{Action: SetMark{Value: 0, Mask: o.allMarks()}, Comment: "Palisade: clear the policy marks"},
		{Action: Jump{Target: ChainFromEndpoint}, Comment: "Palisade: egress policy of the local pod holding the source address"},
		{Action: Jump{Target: ChainToEndpoint}, Comment: "Palisade: ingress policy of the local pod holding the destination address"},
		{Match: M().MarkSet(o.MarkAccept), Action: Accept{}, Comment: "Palisade: the policies of every local pod on the path allowed the flow"},
	}}
	var from, to []dispatchEntry
	var epChains []Chain
	for i := range b.model.Endpoints {
		ep := &b.model.Endpoints[i]
		var ips []netip.Addr
		for _, ip := range ep.IPs {
			if ip.Is6() == (b.fam == IPv6) {
				ips = append(ips, ip)
			}
		}
		if len(ips) == 0 {
			continue
		}
		for _, dir := range []engine.Direction{engine.Egress, engine.Ingress} {
			c, err := b.endpointChain(ep, dir)
			if err != nil {
				return nil, err
			}
			epChains = append(epChains, c)
			for _, ip := range ips {
				e := dispatchEntry{ip: ip, target: c.Name, comment: fmt.Sprintf("%s %s", ep.Ref, strings.ToLower(dir.String()))}
				if dir == engine.Egress {
					from = append(from, e)
				} else {
					to = append(to, e)
				}
			}
		}
	}
	slices.SortFunc(epChains, func(a, b Chain) int { return strings.Compare(a.Name, b.Name) })
	fromChains := b.dispatch(ChainFromEndpoint, chainFromPrefix, from, true)
	toChains := b.dispatch(ChainToEndpoint, chainToPrefix, to, false)
	p := &Program{Family: b.fam, Chains: []Chain{forward, fromChains[0], toChains[0]}}
	subs := append(fromChains[1:], toChains[1:]...)
	slices.SortFunc(subs, func(a, b Chain) int { return strings.Compare(a.Name, b.Name) })
	p.Chains = append(p.Chains, subs...)
	p.Chains = append(p.Chains, epChains...)
	polNames := make([]string, 0, len(b.polChains))
	for n, c := range b.polChains {
		if len(c.Rules) == 0 {
			continue // never jumped to: no rule of this family
		}
		polNames = append(polNames, n)
	}
	slices.Sort(polNames)
	for _, n := range polNames {
		p.Chains = append(p.Chains, *b.polChains[n])
	}
	for _, s := range b.sets {
		p.Sets = append(p.Sets, *s)
	}
	slices.SortFunc(p.Sets, func(a, b SetDef) int { return strings.Compare(a.Name, b.Name) })
	return p, nil
}

// endpointChain is one local pod's chain for one direction: the tiers in the model's order, each
// policy called while no earlier policy of the tier passed, the tier's default action at its end,
// and the kns profile's allow after the last tier (docs/semantics.md §5.8; engine evalList).
func (b *builder) endpointChain(ep *engine.ModelEndpoint, dir engine.Direction) (Chain, error) {
	if b.cache != nil {
		return b.cachedEndpointChain(ep, dir)
	}
	return b.buildEndpointChain(ep, dir)
}

func (b *builder) buildEndpointChain(ep *engine.ModelEndpoint, dir engine.Direction) (Chain, error) {
	o := b.opts
	d := strings.ToLower(dir.String())
	c := Chain{Name: endpointChain(dir, ep.Ref)}
	c.Rules = append(c.Rules, b.shadowRules(ep, dir)...)
	c.Rules = append(c.Rules, Rule{Action: SetMark{Value: 0, Mask: o.MarkAccept | o.MarkPass}, Comment: fmt.Sprintf("%s %s: start", ep.Ref, d)})
	ids := ep.Policies(dir)
	for i := 0; i < len(ids); {
		first := b.pols[ids[i]]
		if first == nil {
			return Chain{}, fmt.Errorf("endpoint %s: policy %s is not in the model", ep.Ref, ids[i])
		}
		tier := first.Tier
		last := first.ID // end-of-tier drops are logged as the tier's last policy for this endpoint
		if i > 0 {
			c.Rules = append(c.Rules, Rule{Action: SetMark{Value: 0, Mask: o.MarkPass}, Comment: fmt.Sprintf("tier %s: start", tier)})
		}
		for ; i < len(ids); i++ {
			p := b.pols[ids[i]]
			if p == nil {
				return Chain{}, fmt.Errorf("endpoint %s: policy %s is not in the model", ep.Ref, ids[i])
			}
			if p.Tier != tier {
				break
			}
			last = p.ID
			if p.FailClosed {
				c.Rules = append(c.Rules, b.logDrop(M().MarkClear(o.MarkPass), DropPrefix(dir, p.ID, -1),
					fmt.Sprintf("%s fails closed: %s", p.ID, p.Error))...)
				continue
			}
			name, ok, err := b.policyChain(p, dir)
			if err != nil {
				return Chain{}, err
			}
			if !ok {
				continue // no rule of this family: the policy cannot decide
			}
			c.Rules = append(c.Rules,
				Rule{Match: M().MarkClear(o.MarkPass), Action: Jump{Target: name}, Comment: fmt.Sprintf("%s %s", p.ID, d)},
				Rule{Match: M().MarkSet(o.MarkAccept), Action: Return{}, Comment: fmt.Sprintf("%s allowed", p.ID)},
			)
		}
		if !first.TierDefaultPass {
			c.Rules = append(c.Rules, b.logDrop(M().MarkClear(o.MarkPass), DropPrefix(dir, last, -1),
				fmt.Sprintf("tier %s: end of tier, default action Deny", tier))...)
		}
	}
	c.Rules = append(c.Rules, Rule{Action: SetMark{Value: o.MarkAccept, Mask: o.MarkAccept},
		Comment: fmt.Sprintf("%s %s: no policy decided, the kns profile allows", ep.Ref, d)})
	return c, nil
}

// useSet returns the kernel name of a model set in this family, registering it.
func (b *builder) useSet(id string) (string, error) {
	name := setName(b.fam, id)
	return name, b.useSetNamed(id, name)
}

// useSetNamed is useSet with the set's kernel name in this family.
func (b *builder) useSetNamed(id, name string) error {
	if b.usedSets != nil {
		*b.usedSets = append(*b.usedSets, id)
	}
	if _, ok := b.sets[name]; ok {
		return nil
	}
	ms := b.modelSets[id]
	if ms == nil && b.modelSets == nil {
		// No index: the model's sets are sorted by ID.
		if at, ok := slices.BinarySearchFunc(b.model.Sets, id, func(s engine.ModelSet, id string) int { return strings.Compare(s.ID, id) }); ok {
			ms = &b.model.Sets[at]
		}
	}
	if ms == nil {
		return fmt.Errorf("set %s is not in the model", id)
	}
	if b.cache != nil {
		if def := b.cache.cachedSetDef(name, id, ms); def != nil && def.Family == b.fam {
			b.sets[name] = def
			return nil
		}
	}
	s, err := setDefFor(b.fam, name, id, ms)
	if err != nil {
		return err
	}
	b.sets[name] = s
	return nil
}

// setDefFor makes the def of a model set in one family.
func setDefFor(fam Family, name, id string, ms *engine.ModelSet) (*SetDef, error) {
	s := &SetDef{Name: name, Family: fam, ModelID: id}
	isFam := func(a netip.Addr) bool { return a.Is6() == (fam == IPv6) }
	switch ms.Kind {
	case engine.SetSelector, engine.SetServiceNoPort:
		s.Type = HashIP
		for _, a := range ms.IPs {
			if isFam(a) {
				s.IPs = append(s.IPs, a)
			}
		}
	case engine.SetNets:
		s.Type = HashNet
		for _, p := range ms.Nets {
			if !isFam(p.Addr()) {
				continue
			}
			if p.Bits() == 0 {
				// hash:net cannot hold a /0: two halves cover the same addresses.
				half := netip.PrefixFrom(p.Addr(), 1)
				other := netip.MustParseAddr("128.0.0.0")
				if fam == IPv6 {
					other = netip.MustParseAddr("8000::")
				}
				s.Nets = append(s.Nets, half, netip.PrefixFrom(other, 1))
				continue
			}
			s.Nets = append(s.Nets, p)
		}
		slices.SortFunc(s.Nets, func(x, y netip.Prefix) int {
			if c := x.Addr().Compare(y.Addr()); c != 0 {
				return c
			}
			return x.Bits() - y.Bits()
		})
		s.Nets = slices.Compact(s.Nets)
	case engine.SetNamedPort, engine.SetService:
		s.Type = HashIPPort
		for _, m := range ms.IPPorts {
			if isFam(m.Addr) {
				s.IPPorts = append(s.IPPorts, m)
			}
		}
	default:
		return nil, fmt.Errorf("set %s: unknown kind %q", id, ms.Kind)
	}
	return s, nil
}
