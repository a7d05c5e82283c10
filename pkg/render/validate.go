package render

import (
	"errors"
	"fmt"
	"strings"
)

// Validate checks the structural invariants the enforcer relies on before handing a program to
// the kernel: chain and set names carry the prefix and fit the kernel's limits, every jump or
// goto target and every set a rule names is defined, every chain but PAL-FORWARD is reached from
// another chain, every set is used, and no name is defined twice.
func (p *Program) Validate() error {
	var errs []error
	chains := map[string]bool{}
	for _, c := range p.Chains {
		if chains[c.Name] {
			errs = append(errs, fmt.Errorf("chain %s is defined twice", c.Name))
		}
		chains[c.Name] = true
		if !strings.HasPrefix(c.Name, Prefix+"-") || len(c.Name) > MaxChainName {
			errs = append(errs, fmt.Errorf("chain name %q: want prefix %s- and at most %d characters", c.Name, Prefix, MaxChainName))
		}
	}
	sets := map[string]bool{}
	for _, s := range p.Sets {
		if sets[s.Name] {
			errs = append(errs, fmt.Errorf("set %s is defined twice", s.Name))
		}
		sets[s.Name] = true
		if !strings.HasPrefix(s.Name, Prefix+s.Family.digit()) || len(s.Name) > MaxSetName {
			errs = append(errs, fmt.Errorf("set name %q: want prefix %s%s and at most %d characters", s.Name, Prefix, s.Family.digit(), MaxSetName))
		}
		if s.Family != p.Family {
			errs = append(errs, fmt.Errorf("set %s is %s in an %s program", s.Name, s.Family, p.Family))
		}
	}
	usedChains := map[string]bool{ChainForward: true}
	usedSets := map[string]bool{}
	for _, c := range p.Chains {
		for i, r := range c.Rules {
			target := ""
			switch a := r.Action.(type) {
			case Jump:
				target = a.Target
			case Goto:
				target = a.Target
			case nil:
				errs = append(errs, fmt.Errorf("%s[%d]: no action", c.Name, i))
			}
			if target != "" {
				usedChains[target] = true
				if !chains[target] {
					errs = append(errs, fmt.Errorf("%s[%d]: target chain %s is not defined", c.Name, i, target))
				}
			}
			for _, sm := range r.Match.sets {
				usedSets[sm.name] = true
				if !sets[sm.name] {
					errs = append(errs, fmt.Errorf("%s[%d]: set %s is not defined", c.Name, i, sm.name))
				}
			}
			if r.Comment == "" {
				errs = append(errs, fmt.Errorf("%s[%d]: no comment", c.Name, i))
			}
		}
	}
	for _, c := range p.Chains {
		if !usedChains[c.Name] {
			errs = append(errs, fmt.Errorf("chain %s is never jumped to", c.Name))
		}
	}
	for _, s := range p.Sets {
		if !usedSets[s.Name] {
			errs = append(errs, fmt.Errorf("set %s is not used by any rule", s.Name))
		}
	}
	return errors.Join(errs...)
}
