package iptables

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
)

// HookComment marks the rules Palisade inserts into chains it does not own (the jump from FORWARD).
const HookComment = "palisade-hook"

// Config says which tools an Applier runs, for which family, and how.
type Config struct {
	Family desired.Family
	Tools  Tools
	Exec   command.Executor
	// WaitSeconds is how long iptables-restore waits for /run/xtables.lock (-w); 0 means forever.
	WaitSeconds int
}

// Applier writes Palisade's chains of one IP family. It remembers the hashes of what it last wrote
// so that a sync reads nothing and rewrites only changed chains; a resync (or any failure) makes it
// read iptables-save again, which is how a restarted enforcer adopts its chains and how rules
// deleted by hand are noticed.
//
// An Applier is not safe for concurrent use: the syncer calls it from one goroutine.
type Applier struct {
	cfg Config
	// known is the kernel's state as last read or written: table -> PAL chain -> rule hashes.
	// nil means unknown, to be read before the next write.
	known map[string]map[string][]string
	// memo keeps, per table and chain, the last desired rules and their hashes, so an unchanged
	// chain costs a comparison of strings instead of a hash per rule at every sync. It is a cache of
	// a pure function and never goes stale.
	memo map[string]map[string]memoEntry
}

type memoEntry struct {
	rules, hashes []string
}

// hashesOf returns ruleHashes(chain, rules), from the memo when the rules did not change.
func (a *Applier) hashesOf(table, chain string, rules []string) []string {
	if m, ok := a.memo[table][chain]; ok && slices.Equal(m.rules, rules) {
		return m.hashes
	}
	h := ruleHashes(chain, rules)
	if a.memo == nil {
		a.memo = map[string]map[string]memoEntry{}
	}
	if a.memo[table] == nil {
		a.memo[table] = map[string]memoEntry{}
	}
	a.memo[table][chain] = memoEntry{rules: slices.Clone(rules), hashes: h}
	return h
}

// New returns an Applier that will adopt whatever Palisade chains it finds at its first Apply.
func New(cfg Config) *Applier { return &Applier{cfg: cfg} }

// Options of one Apply.
type Options struct {
	// Resync reads the kernel's state first instead of trusting what was last written.
	Resync bool
	// Prune deletes Palisade chains that are no longer desired. The syncer sets it only once a
	// complete sync has succeeded, so a starting enforcer never removes rules before it has written
	// the full desired state.
	Prune bool
}

// Result says what one Apply did.
type Result struct {
	ChainsWritten, ChainsDeleted int
	// Chains and Rules count what is desired and now programmed.
	Chains, Rules int
	// Stale counts Palisade chains present but no longer desired (kept because Prune was off).
	Stale int
}

// Apply makes the kernel's Palisade chains of this family equal to tables (tables of other families
// are ignored): one iptables-restore --noflush transaction per table that declares (and so flushes)
// every new or changed chain, appends its rules with their hash comments, and deletes stale chains
// when opts.Prune is set. Chains and rules without the PAL prefix are never named. The entry chain
// always exists afterwards, empty if the desired state has none, so the FORWARD hook has a target.
// The chain names of a table must be distinct, as desired.Ruleset.Validate checks.
func (a *Applier) Apply(ctx context.Context, tables []desired.Table, opts Options) (Result, error) {
	var res Result
	if a.known == nil || opts.Resync {
		if err := a.read(ctx); err != nil {
			return res, err
		}
	}
	want := map[string][]desired.Chain{}
	for _, t := range tables {
		if t.Family == a.cfg.Family {
			want[t.Name] = t.Chains
		}
	}
	if !slices.ContainsFunc(want["filter"], func(c desired.Chain) bool { return c.Name == desired.EntryChain }) {
		want["filter"] = append(slices.Clone(want["filter"]), desired.Chain{Name: desired.EntryChain})
	}
	names := make([]string, 0, len(want)+len(a.known))
	for name := range want {
		names = append(names, name)
	}
	for name, chains := range a.known {
		if _, ok := want[name]; !ok && len(chains) > 0 {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		r, err := a.applyTable(ctx, name, want[name], opts.Prune)
		res.ChainsWritten += r.ChainsWritten
		res.ChainsDeleted += r.ChainsDeleted
		res.Chains += r.Chains
		res.Rules += r.Rules
		res.Stale += r.Stale
		if err != nil {
			a.known = nil
			return res, err
		}
	}
	return res, nil
}

// lineOrigin says which chain and rule produced a line of a restore transaction, to turn
// "line N failed" into an error naming the rule.
type lineOrigin struct {
	chain string
	rule  int // -1 for declarations and deletions
	text  string
}

func (a *Applier) applyTable(ctx context.Context, table string, chains []desired.Chain, prune bool) (Result, error) {
	var res Result
	known := a.known[table]
	var decl, rules, dels []lineOrigin
	written := map[string][]string{}
	// inKnown counts the desired chains the kernel holds: when it is all the kernel holds, no
	// chain is stale (the desired names are distinct) and no set of names is needed to tell.
	inKnown := 0
	for _, c := range chains {
		res.Chains++
		res.Rules += len(c.Rules)
		hashes := a.hashesOf(table, c.Name, c.Rules)
		have, ok := known[c.Name]
		if ok {
			inKnown++
		}
		if ok && slices.Equal(have, hashes) {
			continue
		}
		written[c.Name] = hashes
		decl = append(decl, lineOrigin{c.Name, -1, ":" + c.Name + " - [0:0]"})
		for i, r := range c.Rules {
			rules = append(rules, lineOrigin{c.Name, i,
				"-A " + c.Name + " " + withHash(r, hashes[i])})
		}
	}
	var stale []string
	if inKnown != len(known) {
		wanted := make(map[string]bool, len(chains))
		for _, c := range chains {
			wanted[c.Name] = true
		}
		for name := range known {
			if !wanted[name] {
				stale = append(stale, name)
			}
		}
	}
	sort.Strings(stale)
	if prune {
		for _, name := range stale {
			// Declaring flushes it, so no rule of its own still references another stale chain.
			decl = append(decl, lineOrigin{name, -1, ":" + name + " - [0:0]"})
			dels = append(dels, lineOrigin{name, -1, "-X " + name})
		}
	} else {
		res.Stale = len(stale)
	}
	if len(decl) == 0 {
		return res, nil
	}
	lines := append(append(append([]lineOrigin{{rule: -1, text: "*" + table}}, decl...), rules...), dels...)
	lines = append(lines, lineOrigin{rule: -1, text: "COMMIT"})
	if err := a.restore(ctx, table, lines); err != nil {
		return res, err
	}
	if a.known[table] == nil {
		a.known[table] = map[string][]string{}
	}
	for name, hashes := range written {
		a.known[table][name] = hashes
	}
	res.ChainsWritten = len(written)
	if prune {
		for _, name := range stale {
			delete(a.known[table], name)
		}
		res.ChainsDeleted = len(stale)
	}
	return res, nil
}

// failedLineRE finds the line iptables-restore names when a transaction fails.
var failedLineRE = regexp.MustCompile(`line (\d+) failed`)

func (a *Applier) restore(ctx context.Context, table string, lines []lineOrigin) error {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	args := []string{"--noflush", "-w"}
	if a.cfg.WaitSeconds > 0 {
		args = append(args, strconv.Itoa(a.cfg.WaitSeconds))
	}
	_, err := a.cfg.Exec.Run(ctx, []byte(b.String()), a.cfg.Tools.Restore, args...)
	if err == nil {
		return nil
	}
	if m := failedLineRE.FindStringSubmatch(err.Error()); m != nil {
		if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(lines) {
			l := lines[n-1]
			if l.rule >= 0 {
				return fmt.Errorf("restoring %s table %s: chain %s rule %d %q: %w", a.cfg.Family, table, l.chain, l.rule, l.text, err)
			}
			return fmt.Errorf("restoring %s table %s: line %q: %w", a.cfg.Family, table, l.text, err)
		}
	}
	return fmt.Errorf("restoring %s table %s: %w", a.cfg.Family, table, err)
}

// read adopts the kernel's state: the hashes of every Palisade chain in every table.
func (a *Applier) read(ctx context.Context) error {
	out, err := a.cfg.Exec.Run(ctx, nil, a.cfg.Tools.Save)
	if err != nil {
		return fmt.Errorf("reading %s rules: %w", a.cfg.Family, err)
	}
	tables, err := parseSave(out)
	if err != nil {
		return fmt.Errorf("reading %s rules: %w", a.cfg.Family, err)
	}
	a.known = map[string]map[string][]string{}
	for name, t := range tables {
		if len(t.chains) > 0 {
			a.known[name] = t.chains
		}
	}
	return nil
}

// Cleanup removes every Palisade chain of this family and every rule Palisade inserted into other
// chains (those carrying HookComment), in one transaction per table, and nothing else. A rule of
// someone else that jumps into a Palisade chain is left alone and reported, since the chain cannot
// be deleted under it.
func (a *Applier) Cleanup(ctx context.Context) (Result, error) {
	var res Result
	out, err := a.cfg.Exec.Run(ctx, nil, a.cfg.Tools.Save)
	if err != nil {
		return res, fmt.Errorf("reading %s rules: %w", a.cfg.Family, err)
	}
	tables, err := parseSave(out)
	if err != nil {
		return res, fmt.Errorf("reading %s rules: %w", a.cfg.Family, err)
	}
	a.known = nil
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		t := tables[name]
		var lines []lineOrigin
		lines = append(lines, lineOrigin{rule: -1, text: "*" + name})
		var foreign []string
		for _, hook := range t.hooks {
			if !strings.Contains(hook, "--comment "+HookComment) && !strings.Contains(hook, `--comment "`+HookComment+`"`) {
				foreign = append(foreign, hook)
				continue
			}
			lines = append(lines, lineOrigin{rule: -1, text: "-D" + strings.TrimPrefix(hook, "-A")})
		}
		if len(foreign) > 0 {
			return res, fmt.Errorf("cleaning up %s table %s: rules Palisade did not create jump into its chains: %s", a.cfg.Family, name, strings.Join(foreign, "; "))
		}
		chains := make([]string, 0, len(t.chains))
		for c := range t.chains {
			chains = append(chains, c)
		}
		sort.Strings(chains)
		for _, c := range chains {
			lines = append(lines, lineOrigin{chain: c, rule: -1, text: ":" + c + " - [0:0]"})
		}
		for _, c := range chains {
			lines = append(lines, lineOrigin{chain: c, rule: -1, text: "-X " + c})
		}
		if len(lines) == 1 {
			continue
		}
		lines = append(lines, lineOrigin{rule: -1, text: "COMMIT"})
		if err := a.restore(ctx, name, lines); err != nil {
			return res, fmt.Errorf("cleaning up: %w", err)
		}
		res.ChainsDeleted += len(chains)
	}
	return res, nil
}
