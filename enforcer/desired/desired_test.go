package desired

import (
	"fmt"
	"strings"
	"testing"
)

func valid() Ruleset {
	return Ruleset{
		Tables: []Table{{Name: "filter", Family: IPv4, Chains: []Chain{{Name: EntryChain, Rules: []string{"-j ACCEPT"}}}}},
		Sets:   []Set{{Name: "PAL-s-1", Type: "hash:ip", Family: "inet", Members: []string{"198.18.0.1"}}},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		tweak func(r *Ruleset)
		want  string // substring of the error; "" for none
	}{
		{"valid", func(*Ruleset) {}, ""},
		{"foreign chain", func(r *Ruleset) { r.Tables[0].Chains[0].Name = "KUBE-SERVICES" }, `tables[0].chains[0].name: "KUBE-SERVICES": must start with "PAL"`},
		{"long chain", func(r *Ruleset) { r.Tables[0].Chains[0].Name = "PAL-" + strings.Repeat("x", 25) }, "longer than 28"},
		{"duplicate chain", func(r *Ruleset) { r.Tables[0].Chains = append(r.Tables[0].Chains, r.Tables[0].Chains[0]) }, "chain listed twice"},
		{"rule newline", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = "-j ACCEPT\n-A FORWARD -j DROP" }, "tables[0].chains[0].rules[0]"},
		{"empty rule", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = " " }, "must be one non-empty line"},
		{"bad family", func(r *Ruleset) { r.Tables[0].Family = "inet" }, `tables[0].family "inet"`},
		{"duplicate table", func(r *Ruleset) { r.Tables = append(r.Tables, Table{Name: "filter", Family: IPv4}) }, "listed twice"},
		{"foreign set", func(r *Ruleset) { r.Sets[0].Name = "KUBE-X" }, `sets[0].name`},
		{"set type", func(r *Ruleset) { r.Sets[0].Type = "list:set" }, `sets[0].type "list:set"`},
		{"set family", func(r *Ruleset) { r.Sets[0].Family = "ipv4" }, `sets[0].family`},
		{"member space", func(r *Ruleset) { r.Sets[0].Members[0] = "1.2.3.4 timeout 5" }, `sets[0].members[0]`},
		{"duplicate set", func(r *Ruleset) { r.Sets = append(r.Sets, r.Sets[0]) }, "set listed twice"},
		{"jump to undeclared chain", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = "-j PAL-fw-x" }, "tables[0].chains[0].rules[0]: jumps to PAL-fw-x"},
		{"goto declared chain", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = "-g PAL-FORWARD" }, ""},
		{"jump to foreign chain", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = "-j KUBE-SERVICES" }, ""},
		{"undeclared set", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = "-m set --match-set PAL-s-2 src -j DROP" }, "matches set PAL-s-2"},
		{"declared set", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[0] = "-m set --match-set PAL-s-1 src -j DROP" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := valid()
			tt.tweak(&r)
			err := r.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzValidate(f *testing.F) {
	f.Add("filter", "PAL-FORWARD", "-j PAL-x", "PAL-s-1", "hash:ip", "198.18.0.1")
	f.Add("", "KUBE", "--match-set", "PAL-", "hash:net", "a b")
	f.Fuzz(func(t *testing.T, table, chain, rule, set, typ, member string) {
		r := Ruleset{
			Tables: []Table{{Name: table, Family: IPv4, Chains: []Chain{{Name: chain, Rules: []string{rule}}}}},
			Sets:   []Set{{Name: set, Type: typ, Family: "inet", Members: []string{member}}},
		}
		if err := r.Validate(); err == nil {
			if !Owned(chain) || !Owned(set) || strings.ContainsAny(rule, "\n\r") || strings.ContainsAny(member, " \n") {
				t.Fatalf("accepted %+v", r)
			}
		}
	})
}

// TestValidatorRemembers: a Validator used over a sequence of rulesets returns, at every step,
// what a fresh Validate returns, including for chains and sets it remembers whose references or
// names no longer hold.
func TestValidatorRemembers(t *testing.T) {
	var v Validator
	steps := []struct {
		name  string
		tweak func(r *Ruleset)
	}{
		{"valid", func(*Ruleset) {}},
		{"valid again", func(*Ruleset) {}},
		{"set renamed under a remembered rule", func(r *Ruleset) { r.Sets[0].Name = "PAL-s-2" }},
		{"valid after the error", func(*Ruleset) {}},
		{"same names, a rule now names an undeclared set", func(r *Ruleset) {
			r.Tables[0].Chains[1].Rules[0] = "-m set --match-set PAL-s-9 src -j RETURN"
		}},
		{"same names, a rule now jumps to an undeclared chain", func(r *Ruleset) {
			r.Tables[0].Chains[1].Rules[0] = "-j PAL-y"
		}},
		{"valid with the same names", func(*Ruleset) {}},
		{"chain listed twice", func(r *Ruleset) { r.Tables[0].Chains[1].Name = EntryChain }},
		{"set listed twice", func(r *Ruleset) { r.Sets = append(r.Sets, r.Sets[0]) }},
		{"jump target removed", func(r *Ruleset) {
			r.Tables[0].Chains = r.Tables[0].Chains[:1]
		}},
		{"rule broken in place", func(r *Ruleset) { r.Tables[0].Chains[0].Rules[1] = "-j ACCEPT\n-A FORWARD -j DROP" }},
		{"member broken in place", func(r *Ruleset) { r.Sets[0].Members[0] = "1.2.3.4 timeout 5" }},
		{"valid at the end", func(*Ruleset) {}},
	}
	for _, s := range steps {
		r := Ruleset{
			Tables: []Table{{Name: "filter", Family: IPv4, Chains: []Chain{
				{Name: EntryChain, Rules: []string{"-m set --match-set PAL-s-1 src -j PAL-x", "-j ACCEPT"}},
				{Name: "PAL-x", Rules: []string{"-j RETURN"}},
			}}},
			Sets: []Set{{Name: "PAL-s-1", Type: "hash:ip", Family: "inet", Members: []string{"198.18.0.1"}}},
		}
		s.tweak(&r)
		want, got := r.Validate(), v.Validate(&r)
		if fmt.Sprint(want) != fmt.Sprint(got) {
			t.Fatalf("%s: Validator.Validate() = %v, Validate() = %v", s.name, got, want)
		}
		if strings.HasPrefix(s.name, "valid") && got != nil {
			t.Fatalf("%s: %v", s.name, got)
		}
		if !strings.HasPrefix(s.name, "valid") && got == nil {
			t.Fatalf("%s: accepted", s.name)
		}
	}
	if len(v.chains) != 2 || len(v.sets) != 1 {
		t.Fatalf("the validator remembers %d chains and %d sets, want 2 and 1", len(v.chains), len(v.sets))
	}
}
