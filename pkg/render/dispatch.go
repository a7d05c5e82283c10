package render

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// defaultDispatchFanout is Options.DispatchFanout's default.
const defaultDispatchFanout = 16

// Dispatch sub-chains are named by the prefix they cover.
const (
	chainFromPrefix = "PAL-FEP-"
	chainToPrefix   = "PAL-TEP-"
)

// dispatchEntry sends one local address to its endpoint chain.
type dispatchEntry struct {
	ip      netip.Addr
	target  string
	comment string
}

// dispatch builds the dispatch chain named top (source or destination addresses) and its
// sub-chains; the first chain returned is top. Up to the fanout, top tests each address and
// goes to its endpoint chain. Beyond it, the sorted addresses are split at the first bit where
// the lowest and the highest differ: each half gets a sub-chain (named by its prefix) reached by
// one prefix test, recursively, so a packet walks about 2·log2(n/fanout) + fanout rules. Every
// step is a goto, so the endpoint chain returns straight to PAL-FORWARD, and an address of no
// local pod falls off the end of its leaf and returns there too.
func (b *builder) dispatch(top, subPrefix string, entries []dispatchEntry, source bool) []Chain {
	slices.SortFunc(entries, func(x, y dispatchEntry) int { return cmp.Or(x.ip.Compare(y.ip), cmp.Compare(x.target, y.target)) })
	fanout := b.opts.DispatchFanout
	if fanout == 0 {
		fanout = defaultDispatchFanout
	}
	match := func(p netip.Prefix) Match {
		if source {
			return M().SourceNet(p)
		}
		return M().DestNet(p)
	}
	side := "destination"
	if source {
		side = "source"
	}
	var out []Chain
	var build func(name string, es []dispatchEntry)
	build = func(name string, es []dispatchEntry) {
		c := Chain{Name: name}
		out = append(out, Chain{}) // keep this chain's place before its sub-chains
		at := len(out) - 1
		if len(es) <= fanout {
			for _, e := range es {
				c.Rules = append(c.Rules, Rule{Match: match(netip.PrefixFrom(e.ip, e.ip.BitLen())), Action: Goto{Target: e.target}, Comment: e.comment})
			}
			out[at] = c
			return
		}
		lo, hi := es[0].ip, es[len(es)-1].ip
		split := commonBits(lo, hi)
		cut := slices.IndexFunc(es, func(e dispatchEntry) bool { return addrBit(e.ip, split) })
		for _, half := range [][]dispatchEntry{es[:cut], es[cut:]} {
			p := netip.PrefixFrom(half[0].ip, split+1).Masked()
			sub := hashName(subPrefix, p.String())
			c.Rules = append(c.Rules, Rule{Match: match(p), Action: Goto{Target: sub}, Comment: fmt.Sprintf("%s addresses in %s", side, p)})
			out[at] = c
			build(sub, half)
		}
	}
	build(top, entries)
	return out
}

// commonBits is the length of the longest common prefix of two different addresses of one
// family.
func commonBits(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			n += bits.LeadingZeros8(d)
			break
		}
		n += 8
	}
	if a.Is4() {
		n -= 96 // As16 holds an IPv4 address in its last 4 bytes
	}
	return n
}

// addrBit reports bit i (0 = most significant) of the address.
func addrBit(a netip.Addr, i int) bool {
	b := a.AsSlice()
	return b[i/8]>>(7-i%8)&1 == 1
}
