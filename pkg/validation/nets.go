package validation

import (
	"net/netip"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// family is the IP family of a CIDR.
type family int

const (
	noFamily family = iota
	ipv4
	ipv6
)

func (f family) String() string {
	if f == ipv6 {
		return "IPv6"
	}
	return "IPv4"
}

const catchAllNegationMsg = "catch-all CIDR in negation creates logical contradiction (matches no traffic): remove it"

// parseRuleCIDR parses a rule CIDR the strict way (R8). It returns the prefix and "" or an error
// detail saying what is allowed.
func parseRuleCIDR(s string) (netip.Prefix, string) {
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		if addr, aerr := netip.ParseAddr(s); aerr == nil && addr.Zone() == "" {
			return netip.Prefix{}, "bare IP addresses are not allowed: write " + netip.PrefixFrom(addr, addr.BitLen()).String()
		}
		return netip.Prefix{}, "must be a CIDR such as 10.0.0.0/8 or 2001:db8::/32 (no leading zeros)"
	}
	if pfx.Addr().Is4In6() {
		return netip.Prefix{}, "IPv4-mapped IPv6 CIDRs are ambiguous: write the IPv4 CIDR"
	}
	if m := pfx.Masked(); m != pfx {
		return netip.Prefix{}, "must not have bits set beyond the prefix length: write " + m.String()
	}
	return pfx, ""
}

func familyOf(p netip.Prefix) family {
	if p.Addr().Is4() {
		return ipv4
	}
	return ipv6
}

// netList checks the syntax of a nets or notNets list (R8, R12). Family consistency needs the whole
// rule and is checked by netFamilies.
func (c *checker) netList(nets []string, negated bool, p *field.Path) {
	if len(nets) > maxNets {
		c.add(field.TooMany(p, len(nets), maxNets))
	}
	seen := map[string]bool{}
	for i, s := range nets {
		ip := p.Index(i)
		pfx, msg := parseRuleCIDR(s)
		switch {
		case msg != "":
			c.add(field.Invalid(ip, s, msg))
		case negated && pfx.Bits() == 0:
			c.add(field.Invalid(ip, s, catchAllNegationMsg))
		case !negated && seen[s]:
			// nets is a set in the CRD (listType=set); notNets is not.
			c.add(field.Duplicate(ip, s))
		}
		seen[s] = true
	}
}

// ruleNet is one CIDR of a rule with its path.
type ruleNet struct {
	path   *field.Path
	list   *field.Path // the nets or notNets list holding it
	value  string
	family family
	// negated is true for notNets entries.
	negated bool
}

// ruleNets lists the valid CIDRs of a rule in Calico's scan order: source nets, source notNets,
// destination nets, destination notNets.
func ruleNets(r *v1alpha1.Rule, p *field.Path) []ruleNet {
	var out []ruleNet
	add := func(list []string, negated bool, lp *field.Path) {
		for i, s := range list {
			// Skip what netList rejects, so that one bad entry gets one error.
			if pfx, msg := parseRuleCIDR(s); msg == "" && (!negated || pfx.Bits() > 0) {
				out = append(out, ruleNet{path: lp.Index(i), list: lp, value: s, family: familyOf(pfx), negated: negated})
			}
		}
	}
	add(r.Source.Nets, false, p.Child("source", "nets"))
	add(r.Source.NotNets, true, p.Child("source", "notNets"))
	add(r.Destination.Nets, false, p.Child("destination", "nets"))
	add(r.Destination.NotNets, true, p.Child("destination", "notNets"))
	return out
}

// netFamilies checks R8's family rules: with ipVersion every CIDR must be of that version; without it
// a rule may not mix IPv4 and IPv6 (reported once, at the first CIDR of the other family). It also
// warns when negated CIDRs silently restrict the rule to one family.
func (c *checker) netFamilies(r *v1alpha1.Rule, p *field.Path) {
	nets := ruleNets(r, p)
	if len(nets) == 0 {
		return
	}
	if r.IPVersion != nil && (*r.IPVersion == 4 || *r.IPVersion == 6) {
		want := ipv4
		if *r.IPVersion == 6 {
			want = ipv6
		}
		for _, n := range nets {
			if n.family != want {
				c.add(field.Invalid(n.path, n.value, "rule IP version doesn't match CIDR version: ipVersion is "+
					strconv.Itoa(*r.IPVersion)+", use "+want.String()+" CIDRs"))
			}
		}
		return
	}
	if r.IPVersion != nil {
		return // unsupported ipVersion already reported
	}
	first := nets[0].family
	for _, n := range nets[1:] {
		if n.family != first {
			c.add(field.Invalid(n.path, n.value, "rule contains both IPv4 and IPv6 CIDRs: write one rule per IP family"))
			return
		}
	}
	c.negatedFamilyWarning(nets)
}

// negatedFamilyWarning warns when a rule's only CIDRs are negated ones: "not in 10.0.0.0/8" reads as
// "everything else", but the rule then matches IPv4 traffic only, so IPv6 traffic skips it (a Deny
// with notNets lets IPv6 through). With positive nets the restriction is evident and not warned.
func (c *checker) negatedFamilyWarning(nets []ruleNet) {
	for _, n := range nets {
		if !n.negated {
			return
		}
	}
	other := ipv6
	if nets[0].family == ipv6 {
		other = ipv4
	}
	c.warn(nets[0].list, "lists only "+nets[0].family.String()+" CIDRs, so the rule never matches "+other.String()+
		" traffic: set ipVersion to say so")
}
