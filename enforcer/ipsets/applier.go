package ipsets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
)

// minMaxElem is the smallest maxelem a created set gets (ipset's default).
const minMaxElem = 65536

// Applier keeps Palisade's ipsets equal to the desired ones. Like the iptables applier it remembers
// what it last wrote and reads `ipset save` again only on a resync or after a failure.
//
// An Applier is not safe for concurrent use.
type Applier struct {
	exec  command.Executor
	known map[string]*setState // nil: unknown, read before the next write
	// applied is, per set, the desired members as last written successfully. Between resyncs a set
	// whose desired members are the same slice of strings is known to be right without
	// canonicalising and comparing every member.
	applied map[string][]string
}

// New returns an Applier that adopts the Palisade sets it finds at its first Update.
func New(exec command.Executor) *Applier { return &Applier{exec: exec} }

// Result says what one call did.
type Result struct {
	Created, Swapped, Recreated, Destroyed int
	Added, Deleted                         int
	// Sets and Members count what is desired and now programmed.
	Sets, Members int
	// Stale counts Palisade sets present but not desired.
	Stale int
}

// Update creates missing sets and brings existing ones to their desired members in one
// `ipset restore`: adds and deletions for a small change, a temporary set filled and swapped in when
// the membership changes wholesale (or the set must grow), so the rules referencing it see the old or
// the new membership and nothing in between. It never destroys a set that is no longer desired: that
// is DestroyStale's job, once no rule references it.
func (a *Applier) Update(ctx context.Context, sets []desired.Set, resync bool) (Result, error) {
	var res Result
	fresh := a.known == nil || resync
	if fresh {
		if err := a.read(ctx); err != nil {
			return res, err
		}
	}
	var b script
	// next holds the sets this call writes, inKnown counts the desired sets the kernel holds
	// (the names are distinct, as desired.Ruleset.Validate checks): known is updated in place,
	// so a sync that changes a few sets costs no copy of the others.
	next := map[string]*setState{}
	inKnown := 0
	for i := range sets {
		s := &sets[i]
		res.Sets++
		res.Members += len(s.Members)
		have := a.known[s.Name]
		if have != nil {
			inKnown++
		}
		if !fresh && have != nil && have.typ == s.Type && have.family == s.Family && slices.Equal(a.applied[s.Name], s.Members) {
			continue
		}
		want := make(map[string]struct{}, len(s.Members))
		order := make([]string, 0, len(s.Members))
		for _, m := range s.Members {
			c := canonical(s.Type, m)
			if _, dup := want[c]; !dup {
				want[c] = struct{}{}
				order = append(order, c)
			}
		}
		maxelem := max(minMaxElem, 2*len(want))
		next[s.Name] = &setState{typ: s.Type, family: s.Family, maxelem: maxelem, members: want}
		switch {
		case have == nil:
			res.Created++
			b.create(s.Name, s.Type, s.Family, maxelem)
			b.adds(s.Name, order)
		case have.typ != s.Type || have.family != s.Family:
			// ipset cannot swap sets of different types; the set is rebuilt under its name, which the
			// kernel refuses while a rule references it (the error names the set).
			res.Recreated++
			b.line(s.Name, "destroy "+s.Name)
			b.create(s.Name, s.Type, s.Family, maxelem)
			b.adds(s.Name, order)
		default:
			var adds, dels []string
			for _, m := range order {
				if _, ok := have.members[m]; !ok {
					adds = append(adds, m)
				}
			}
			for m := range have.members {
				if _, ok := want[m]; !ok {
					dels = append(dels, m)
				}
			}
			sort.Strings(dels)
			if (len(dels) > 0 && len(adds)+len(dels) > len(want)) || len(want) > have.maxelem {
				res.Swapped++
				tmp := tempName(s.Name)
				b.create(tmp, s.Type, s.Family, maxelem)
				b.line(s.Name, "flush "+tmp)
				b.adds(tmp, order)
				b.line(s.Name, "swap "+tmp+" "+s.Name)
				b.line(s.Name, "destroy "+tmp)
				continue
			}
			next[s.Name].maxelem = have.maxelem
			res.Added += len(adds)
			res.Deleted += len(dels)
			b.adds(s.Name, adds)
			for _, m := range dels {
				b.line(s.Name, "del "+s.Name+" "+m)
			}
		}
	}
	res.Stale = len(a.known) - inKnown
	if err := a.restore(ctx, &b); err != nil {
		a.applied = nil
		return res, err
	}
	if a.applied == nil || fresh {
		a.applied = make(map[string][]string, len(sets))
	}
	for i := range sets {
		s := &sets[i]
		if st, ok := next[s.Name]; ok {
			a.known[s.Name] = st
			a.applied[s.Name] = slices.Clone(s.Members)
		}
	}
	return res, nil
}

// DestroyStale destroys the Palisade sets that are not in sets. Call it only after the iptables
// rules that referenced them are gone: the kernel refuses to destroy a referenced set.
func (a *Applier) DestroyStale(ctx context.Context, sets []desired.Set) (int, error) {
	if a.known == nil {
		if err := a.read(ctx); err != nil {
			return 0, err
		}
	}
	if len(a.known) <= len(sets) {
		// Nothing stale when every set known is desired (the names are distinct).
		held := 0
		for i := range sets {
			if _, ok := a.known[sets[i].Name]; ok {
				held++
			}
		}
		if held == len(a.known) {
			return 0, nil
		}
	}
	wanted := map[string]bool{}
	for i := range sets {
		wanted[sets[i].Name] = true
	}
	var b script
	var stale []string
	for name := range a.known {
		if !wanted[name] {
			stale = append(stale, name)
		}
	}
	sort.Strings(stale)
	for _, name := range stale {
		b.line(name, "destroy "+name)
	}
	if err := a.restore(ctx, &b); err != nil {
		return 0, err
	}
	for _, name := range stale {
		delete(a.known, name)
		delete(a.applied, name)
	}
	return len(stale), nil
}

// Cleanup destroys every Palisade set, reading the kernel first. Other sets are never named.
func (a *Applier) Cleanup(ctx context.Context) (int, error) {
	a.known = nil
	return a.DestroyStale(ctx, nil)
}

func (a *Applier) read(ctx context.Context) error {
	out, err := a.exec.Run(ctx, nil, "ipset", "save")
	if err != nil {
		return fmt.Errorf("reading ipsets: %w", err)
	}
	sets, err := parseSave(out)
	if err != nil {
		return fmt.Errorf("reading ipsets: %w", err)
	}
	a.known = sets
	return nil
}

// failedLineRE finds the line `ipset restore` names when it fails.
var failedLineRE = regexp.MustCompile(`Error in line (\d+)`)

func (a *Applier) restore(ctx context.Context, b *script) error {
	if len(b.lines) == 0 {
		return nil
	}
	_, err := a.exec.Run(ctx, []byte(b.String()), "ipset", "-exist", "restore")
	if err == nil {
		return nil
	}
	a.known = nil
	if m := failedLineRE.FindStringSubmatch(err.Error()); m != nil {
		if n, _ := strconv.Atoi(m[1]); n >= 1 && n <= len(b.lines) {
			return fmt.Errorf("restoring ipset %s: line %q: %w", b.sets[n-1], b.lines[n-1], err)
		}
	}
	return fmt.Errorf("restoring ipsets: %w", err)
}

// tempName is the set a wholesale change is built in before the swap; it is derived from the name
// so a leftover from a crash is reused (and flushed) rather than leaked.
func tempName(name string) string {
	h := sha256.Sum256([]byte(name))
	return desired.Prefix + "-t-" + hex.EncodeToString(h[:8])
}

// script is an `ipset restore` input and, per line, the set it is about.
type script struct {
	lines, sets []string
}

func (b *script) line(set, l string) {
	b.lines = append(b.lines, l)
	b.sets = append(b.sets, set)
}

func (b *script) create(name, typ, family string, maxelem int) {
	b.line(name, "create "+name+" "+typ+" family "+family+" maxelem "+strconv.Itoa(maxelem))
}

func (b *script) adds(name string, members []string) {
	for _, m := range members {
		b.line(name, "add "+name+" "+m)
	}
}

func (b *script) String() string {
	return strings.Join(b.lines, "\n") + "\n"
}

// Names returns the Palisade sets the Applier believes the kernel holds, sorted.
func (a *Applier) Names() []string {
	names := make([]string, 0, len(a.known))
	for n := range a.known {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
