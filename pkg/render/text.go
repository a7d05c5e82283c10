package render

import (
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// Names. Every chain and set Palisade owns starts with the fixed prefix, so that the enforcer
// recognises its own objects and never touches anyone else's; the rest is a stable hash of what
// the object stands for (never of its content, so a changed policy keeps its chain).
const (
	// Prefix starts every chain and set name.
	Prefix = "PAL"
	// ChainForward is Palisade's top-level chain, hooked from FORWARD by the enforcer.
	ChainForward = "PAL-FORWARD"
	// ChainFromEndpoint dispatches by source address to the local pods' egress chains.
	ChainFromEndpoint = "PAL-FROM-EP"
	// ChainToEndpoint dispatches by destination address to the local pods' ingress chains.
	ChainToEndpoint = "PAL-TO-EP"

	chainEgressPrefix  = "PAL-FW-" // from workload
	chainIngressPrefix = "PAL-TW-" // to workload
	chainPolicyIn      = "PAL-PI-"
	chainPolicyOut     = "PAL-PO-"
	// A policy rule's alternatives that share set matches (sharedAlternatives).
	chainAltIn  = "PAL-AI-"
	chainAltOut = "PAL-AO-"

	// MaxChainName is iptables' limit on chain names; MaxSetName ipset's on set names.
	MaxChainName = 28
	MaxSetName   = 31
	// maxNFLogPrefix is the NFLOG prefix limit (64 bytes with the terminating NUL).
	maxNFLogPrefix = 63
)

// hashName returns prefix + base64url(SHA-256(id)) cut to MaxChainName.
func hashName(prefix, id string) string {
	sum := sha256.Sum256([]byte(id))
	return (prefix + base64.RawURLEncoding.EncodeToString(sum[:]))[:MaxChainName]
}

func endpointChain(dir engine.Direction, ref engine.EndpointRef) string {
	if dir == engine.Egress {
		return hashName(chainEgressPrefix, ref.String())
	}
	return hashName(chainIngressPrefix, ref.String())
}

func policyChain(dir engine.Direction, id engine.PolicyID) string {
	if dir == engine.Egress {
		return hashName(chainPolicyOut, id.String())
	}
	return hashName(chainPolicyIn, id.String())
}

// alternativesChain names the chain of one policy generation's rule alternatives (the rule's
// index among the policy's rules for dir).
func alternativesChain(dir engine.Direction, id engine.PolicyID, index int) string {
	key := id.String() + "#" + strconv.Itoa(index)
	if dir == engine.Egress {
		return hashName(chainAltOut, key)
	}
	return hashName(chainAltIn, key)
}

// setName is PAL4 or PAL6 followed by the model's set ID (Felix's "cali40s:..."), cut to
// MaxSetName.
func setName(f Family, id string) string {
	n := Prefix + f.digit() + id
	if len(n) > MaxSetName {
		n = n[:MaxSetName]
	}
	return n
}

// Ruleset is the text form of one IP family's rules and sets: what the enforcer hands to
// iptables-restore (or ip6tables-restore) and ipset restore.
type Ruleset struct {
	Tables []Table
	Sets   []Set
}

// Table is one iptables table ("filter") and the chains Palisade owns in it.
type Table struct {
	Name   string
	Chains []ChainText
}

// ChainText is one chain; each rule is the text after "-A <chain> " in iptables-restore syntax.
type ChainText struct {
	Name  string
	Rules []string
}

// Set is one ipset: Type is hash:ip, hash:net or hash:ip,port; Family inet or inet6; Members in
// ipset add syntax (198.18.0.1, 198.18.0.0/16, 198.18.0.1,tcp:80).
type Set struct {
	Name    string
	Type    string
	Family  string
	Members []string
}

// IptablesRestoreText renders one table as an iptables-restore input: the chain declarations,
// then every rule, then COMMIT. It is empty when the ruleset has no such table.
func (r Ruleset) IptablesRestoreText(table string) string {
	for _, t := range r.Tables {
		if t.Name != table {
			continue
		}
		var b strings.Builder
		size := 32
		for _, c := range t.Chains {
			size += 2 * len(c.Name)
			for _, r := range c.Rules {
				size += len(c.Name) + len(r) + 5
			}
		}
		b.Grow(size)
		b.WriteString("*" + t.Name + "\n")
		for _, c := range t.Chains {
			b.WriteString(":" + c.Name + " - [0:0]\n")
		}
		for _, c := range t.Chains {
			for _, rule := range c.Rules {
				b.WriteString("-A " + c.Name + " " + rule + "\n")
			}
		}
		b.WriteString("COMMIT\n")
		return b.String()
	}
	return ""
}

// IpsetRestoreText renders every set as an ipset restore input (create, then add each member).
func (r Ruleset) IpsetRestoreText() string {
	var b strings.Builder
	for _, s := range r.Sets {
		b.WriteString("create " + s.Name + " " + s.Type + " family " + s.Family)
		if len(s.Members) > defaultMaxElem {
			b.WriteString(" maxelem " + strconv.Itoa(len(s.Members)))
		}
		b.WriteByte('\n')
		for _, m := range s.Members {
			b.WriteString("add " + s.Name + " " + m + "\n")
		}
	}
	return b.String()
}

// defaultMaxElem is ipset's default capacity.
const defaultMaxElem = 65536

// Ruleset renders the program as text.
func (p *Program) Ruleset() Ruleset {
	t := Table{Name: "filter"}
	for _, c := range p.Chains {
		ct := ChainText{Name: c.Name, Rules: make([]string, len(c.Rules))}
		for i, r := range c.Rules {
			ct.Rules[i] = r.Render()
		}
		t.Chains = append(t.Chains, ct)
	}
	out := Ruleset{Tables: []Table{t}}
	for _, s := range p.Sets {
		out.Sets = append(out.Sets, s.text())
	}
	return out
}

func (s *SetDef) text() Set {
	out := Set{Name: s.Name, Type: string(s.Type), Family: s.Family.ipsetFamily()}
	switch s.Type {
	case HashIP:
		for _, a := range s.IPs {
			out.Members = append(out.Members, a.String())
		}
	case HashNet:
		for _, p := range s.Nets {
			out.Members = append(out.Members, netMember(p))
		}
	case HashIPPort:
		for _, m := range s.IPPorts {
			out.Members = append(out.Members, m.Addr.String()+","+protoText(m.Proto)+":"+strconv.Itoa(int(m.Port)))
		}
	}
	return out
}

// netMember writes a hash:net member as ipset save does: a host route as the bare address.
func netMember(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}
