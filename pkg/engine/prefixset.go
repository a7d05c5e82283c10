package engine

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// prefixSet answers "is this address in any of these prefixes" in O(log n): the prefixes are
// merged into disjoint address ranges sorted by their first address, and a lookup is one binary
// search. A rule's nets list can hold hundreds of CIDRs and is consulted for every flow reaching
// the rule; checking them one at a time made a single large policy dominate evaluation. The zero
// value is the empty set. A set holds one family: the engine keeps one per family (side.netsIdx).
type prefixSet struct {
	// ranges are disjoint and sorted; addresses are 128-bit numbers (As16, so IPv4 addresses
	// are compared in their IPv4-mapped form, consistently within the family).
	ranges []addrRange
	// small holds the prefixes themselves when there are at most smallPrefixSet of them: checking
	// a few prefixes directly is faster than converting the address for a search.
	small []netip.Prefix
}

const smallPrefixSet = 4

// addrRange is the inclusive range first..last.
type addrRange struct{ first, last u128 }

// u128 is an address as a big-endian 128-bit number.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) less(b u128) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, false
		}
	}
	return u128{hi, lo}, true
}

func addrU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// prefixRange returns the first and last address of a masked prefix.
func prefixRange(p netip.Prefix) (u128, u128) {
	first := addrU128(p.Addr())
	host := p.Addr().BitLen() - p.Bits() // host bits, counted from the low end of the 128
	last := first
	switch {
	case host >= 128:
		last = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		last.lo = ^uint64(0)
		last.hi |= (uint64(1) << (host - 64)) - 1
	case host > 0:
		last.lo |= (uint64(1) << host) - 1
	}
	return first, last
}

// newPrefixSet builds the set of the given masked prefixes of one family.
func newPrefixSet(ps []netip.Prefix) prefixSet {
	if len(ps) == 0 {
		return prefixSet{}
	}
	rs := make([]addrRange, 0, len(ps))
	for _, p := range ps {
		f, l := prefixRange(p)
		rs = append(rs, addrRange{f, l})
	}
	slices.SortFunc(rs, func(a, b addrRange) int { return a.first.cmp(b.first) })
	var s prefixSet
	cur := rs[0]
	for _, r := range rs[1:] {
		// Merge overlapping and adjacent ranges.
		after, ok := cur.last.next()
		if !ok || r.first.cmp(after) <= 0 {
			if r.last.cmp(cur.last) > 0 {
				cur.last = r.last
			}
			continue
		}
		s.ranges = append(s.ranges, cur)
		cur = r
	}
	s.ranges = append(s.ranges, cur)
	if len(ps) <= smallPrefixSet {
		s.small = ps
	}
	return s
}

// contains reports whether ip is in one of the set's prefixes.
func (s *prefixSet) contains(ip netip.Addr) bool {
	if s.small != nil {
		for _, p := range s.small {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	return s.inRanges(ip)
}

// inRanges is contains by binary search over the merged ranges.
func (s *prefixSet) inRanges(ip netip.Addr) bool {
	rs := s.ranges
	if len(rs) == 0 {
		return false
	}
	x := addrU128(ip)
	// Find the first range starting after x; only the one before it can hold x.
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x.less(rs[m].first) {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo > 0 && !rs[lo-1].last.less(x)
}
