package desired

import (
	"fmt"
	"slices"
	"strings"
)

// Prefix starts the name of every chain and set Palisade owns. Nothing without it is ever written,
// flushed or deleted by the enforcer.
const Prefix = "PAL"

// EntryChain is the chain the built-in FORWARD chain jumps to; every Palisade rule is reached from it.
const EntryChain = "PAL-FORWARD"

// Limits of the kernel's names (without the terminating NUL).
const (
	// MaxChainName is the longest chain name iptables accepts (XT_EXTENSION_MAXNAMELEN - 1).
	MaxChainName = 28
	// MaxSetName is the longest ipset name (IPSET_MAXNAMELEN - 1).
	MaxSetName = 31
)

// Family is the IP family of an iptables table.
type Family string

// The families of iptables tables: ipv4 is programmed with iptables, ipv6 with ip6tables.
const (
	IPv4 Family = "ipv4"
	IPv6 Family = "ipv6"
)

// Ruleset is the whole desired dataplane of one node: the tables Palisade writes (only its own
// chains in them) and the ipsets those chains reference.
type Ruleset struct {
	Tables []Table
	Sets   []Set
}

// Table is one iptables table of one family, for example the ipv4 "filter" table.
type Table struct {
	Name   string // "filter"
	Family Family // ipv4|ipv6
	Chains []Chain
}

// Chain is one Palisade chain. Rules are in order, each the iptables-restore text that follows
// "-A <chain> ", for example `-m set --match-set PAL-s-abc src -j ACCEPT`.
type Chain struct {
	Name  string
	Rules []string
}

// Set is one ipset. Type is hash:ip, hash:net or hash:ip,port; Family is inet or inet6; Members are
// written as `ipset add` takes them (198.18.0.1, 198.18.0.0/24, 198.18.0.1,tcp:80).
type Set struct {
	Name, Type, Family string
	Members            []string
}

// SetTypes are the ipset types the appliers know how to compare member by member.
var SetTypes = map[string]bool{"hash:ip": true, "hash:net": true, "hash:ip,port": true}

// Validate reports the first problem that would make the Ruleset unsafe or impossible to program:
// a name without the Palisade prefix, too long, duplicated, or a rule or member that would break
// out of its line in the restore text, or a rule naming a Palisade chain or set the Ruleset does
// not declare.
func (r *Ruleset) Validate() error { return new(Validator).Validate(r) }

// Validator is Validate remembering what it checked: per chain, its rules and the Palisade chains
// and sets they name; per set, its members. A chain or set equal to the one last validated under
// its name (compared, not trusted: an unchanged chain handed over again as the same strings costs
// a pointer comparison per rule) is not scanned again, only its references are checked against
// the names of the Ruleset at hand. The syncer validates the whole desired state at every sync;
// after one change, this makes that cost what the change touched plus a pass over the names. The
// result is always what Validate would return. The zero value is ready; not safe for concurrent
// use. Entries of chains and sets the last call did not see are dropped.
type Validator struct {
	chains map[chainKey]*chainMemo
	sets   map[string]*setMemo
	// names are the chain names of each table and the set names of the last valid Ruleset: while
	// they are the same, a remembered chain's references still hold and are not checked again.
	names [][]string
	sets0 []string
	// byPos are the memos of the last valid Ruleset's chains by table and position, and
	// chainSet and setSet its names, for a Ruleset with the same names.
	byPos    [][]*chainMemo
	chainSet []map[string]bool
	setSet   map[string]bool
}

type chainKey struct {
	family      Family
	table, name string
}

// chainMemo is a chain whose rules are each one non-empty line; refs are the Palisade names they
// reference, in the order Validate meets them.
type chainMemo struct {
	rules []string
	refs  []ruleRef
	seen  bool
	// checked: the references were found declared in the last valid Ruleset.
	checked bool
}

type ruleRef struct {
	rule   int
	target string
	isSet  bool
}

// setMemo is a set whose members are each one word.
type setMemo struct {
	members []string
	seen    bool
}

// Validate is Ruleset.Validate.
func (v *Validator) Validate(r *Ruleset) error {
	if v.chains == nil {
		v.chains = map[chainKey]*chainMemo{}
		v.sets = map[string]*setMemo{}
	}
	defer v.sweep()
	// The names of the chains and sets, as in the last valid Ruleset? Then they are known to
	// be well-formed and distinct, and only the chains scanned now need their references
	// checked.
	sameNames := len(v.names) == len(r.Tables) && len(v.sets0) == len(r.Sets)
	for i := 0; sameNames && i < len(r.Tables); i++ {
		cs := r.Tables[i].Chains
		sameNames = len(v.names[i]) == len(cs)
		for j := 0; sameNames && j < len(cs); j++ {
			sameNames = v.names[i][j] == cs[j].Name
		}
	}
	for i := 0; sameNames && i < len(r.Sets); i++ {
		sameNames = v.sets0[i] == r.Sets[i].Name
	}
	tables := map[string]bool{}
	memos := make([][]*chainMemo, len(r.Tables))
	for i := range r.Tables {
		t := &r.Tables[i]
		path := func() string { return fmt.Sprintf("tables[%d]", i) }
		if t.Family != IPv4 && t.Family != IPv6 {
			return fmt.Errorf("%s.family %q: must be %q or %q", path(), t.Family, IPv4, IPv6)
		}
		if t.Name == "" || strings.ContainsAny(t.Name, " \t\n\r") {
			return fmt.Errorf("%s.name %q: must be a table name", path(), t.Name)
		}
		key := string(t.Family) + "/" + t.Name
		if tables[key] {
			return fmt.Errorf("%s: table %s listed twice", path(), key)
		}
		tables[key] = true
		var chains map[string]bool
		if !sameNames {
			chains = make(map[string]bool, len(t.Chains))
		}
		memos[i] = make([]*chainMemo, len(t.Chains))
		for j := range t.Chains {
			c := &t.Chains[j]
			cpath := func() string { return fmt.Sprintf("%s.chains[%d]", path(), j) }
			if !sameNames {
				if err := checkName(c.Name, MaxChainName); err != nil {
					return fmt.Errorf("%s.name: %w", cpath(), err)
				}
				if chains[c.Name] {
					return fmt.Errorf("%s.name %q: chain listed twice", cpath(), c.Name)
				}
				chains[c.Name] = true
			}
			ck := chainKey{t.Family, t.Name, c.Name}
			var m *chainMemo
			if sameNames && v.byPos != nil {
				m = v.byPos[i][j] // the chain of that name, as the names are the same
			} else {
				m = v.chains[ck]
			}
			if m == nil || !slices.Equal(m.rules, c.Rules) {
				m = &chainMemo{rules: slices.Clone(c.Rules)}
				for k, rule := range c.Rules {
					if strings.TrimSpace(rule) == "" || strings.ContainsAny(rule, "\n\r") {
						return fmt.Errorf("%s.rules[%d] %q: must be one non-empty line", cpath(), k, rule)
					}
					m.refs = appendRuleReferences(m.refs, k, rule)
				}
				v.chains[ck] = m
			}
			m.seen = true
			memos[i][j] = m
		}
	}
	var sets map[string]bool
	for i := range r.Tables {
		t := &r.Tables[i]
		var chains map[string]bool
		for j, m := range memos[i] {
			if sameNames && m.checked {
				continue
			}
			if chains == nil && sameNames && v.chainSet != nil {
				chains, sets = v.chainSet[i], v.setSet
			}
			if chains == nil {
				if sets == nil {
					sets = make(map[string]bool, len(r.Sets))
					for i := range r.Sets {
						sets[r.Sets[i].Name] = false
					}
				}
				chains = make(map[string]bool, len(t.Chains))
				for j := range t.Chains {
					chains[t.Chains[j].Name] = true
				}
			}
			for _, ref := range m.refs {
				if err := checkReference(ref, chains, sets); err != nil {
					for _, ms := range memos {
						for _, m := range ms {
							m.checked = false
						}
					}
					v.names, v.sets0, v.byPos, v.chainSet, v.setSet = nil, nil, nil, nil, nil
					return fmt.Errorf("tables[%d].chains[%d].rules[%d]: %w", i, j, ref.rule, err)
				}
			}
		}
	}
	var seenSets map[string]bool
	if !sameNames {
		seenSets = make(map[string]bool, len(r.Sets))
	}
	for i := range r.Sets {
		s := &r.Sets[i]
		path := func() string { return fmt.Sprintf("sets[%d]", i) }
		if !sameNames {
			if err := checkName(s.Name, MaxSetName); err != nil {
				return fmt.Errorf("%s.name: %w", path(), err)
			}
			if seenSets[s.Name] {
				return fmt.Errorf("%s.name %q: set listed twice", path(), s.Name)
			}
			seenSets[s.Name] = true
		}
		if !SetTypes[s.Type] {
			return fmt.Errorf("%s.type %q: must be hash:ip, hash:net or hash:ip,port", path(), s.Type)
		}
		if s.Family != "inet" && s.Family != "inet6" {
			return fmt.Errorf("%s.family %q: must be inet or inet6", path(), s.Family)
		}
		m := v.sets[s.Name]
		if m == nil || !slices.Equal(m.members, s.Members) {
			for k, mem := range s.Members {
				if mem == "" || strings.ContainsAny(mem, " \t\n\r") {
					return fmt.Errorf("%s.members[%d] %q: must be one word", path(), k, mem)
				}
			}
			m = &setMemo{members: slices.Clone(s.Members)}
			v.sets[s.Name] = m
		}
		m.seen = true
	}
	for _, ms := range memos {
		for _, m := range ms {
			m.checked = true
		}
	}
	v.byPos = memos
	if !sameNames {
		v.chainSet = make([]map[string]bool, len(r.Tables))
		for i := range r.Tables {
			v.chainSet[i] = make(map[string]bool, len(r.Tables[i].Chains))
			for _, c := range r.Tables[i].Chains {
				v.chainSet[i][c.Name] = true
			}
		}
		v.setSet = make(map[string]bool, len(r.Sets))
		for i := range r.Sets {
			v.setSet[r.Sets[i].Name] = false
		}
		v.names = make([][]string, len(r.Tables))
		for i := range r.Tables {
			for _, c := range r.Tables[i].Chains {
				v.names[i] = append(v.names[i], c.Name)
			}
		}
		v.sets0 = make([]string, len(r.Sets))
		for i := range r.Sets {
			v.sets0[i] = r.Sets[i].Name
		}
	}
	return nil
}

// sweep drops the entries the last call did not see, and clears the marks.
func (v *Validator) sweep() {
	for k, m := range v.chains {
		if !m.seen {
			delete(v.chains, k)
		}
		m.seen = false
	}
	for k, m := range v.sets {
		if !m.seen {
			delete(v.sets, k)
		}
		m.seen = false
	}
}

// referenceFlags are the options whose argument names a chain (jumps) or a set (--match-set).
var referenceFlags = []struct {
	flag  string
	isSet bool
}{{"-j ", false}, {"--jump ", false}, {"-g ", false}, {"--goto ", false}, {"--match-set ", true}}

// appendRuleReferences scans one rule for the Palisade chains and sets it names. It looks for the
// flags as substrings rather than splitting the rule into words.
func appendRuleReferences(refs []ruleRef, k int, rule string) []ruleRef {
	for _, rf := range referenceFlags {
		for rest := rule; ; {
			i := strings.Index(rest, rf.flag)
			if i < 0 {
				break
			}
			if i > 0 && rest[i-1] != ' ' {
				rest = rest[i+len(rf.flag):]
				continue
			}
			rest = rest[i+len(rf.flag):]
			target, _, _ := strings.Cut(rest, " ")
			if Owned(target) {
				refs = append(refs, ruleRef{rule: k, target: target, isSet: rf.isSet})
			}
		}
	}
	return refs
}

// checkReference makes sure a Palisade chain a rule jumps or goes to is declared in the same
// table, and a Palisade set a rule matches is declared: otherwise the restore would fail as a
// whole, or (for a set) the kernel would refuse the rule, and the error would be found late.
func checkReference(ref ruleRef, chains map[string]bool, sets map[string]bool) error {
	if ref.isSet {
		if _, ok := sets[ref.target]; !ok {
			return fmt.Errorf("matches set %s, which the ruleset does not declare", ref.target)
		}
	} else if !chains[ref.target] {
		return fmt.Errorf("jumps to %s, which the table does not declare", ref.target)
	}
	return nil
}

func checkName(name string, maxLen int) error {
	if !strings.HasPrefix(name, Prefix) {
		return fmt.Errorf("%q: must start with %q", name, Prefix)
	}
	if len(name) > maxLen {
		return fmt.Errorf("%q: longer than %d characters", name, maxLen)
	}
	if strings.ContainsAny(name, " \t\n\r\"'") {
		return fmt.Errorf("%q: must not contain spaces or quotes", name)
	}
	return nil
}

// Owned reports whether a chain or set name belongs to Palisade.
func Owned(name string) bool { return strings.HasPrefix(name, Prefix) }
