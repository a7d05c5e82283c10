package iptables

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"

	"github.com/palisade-dev/palisade/enforcer/desired"
)

// tableState is what iptables-save shows of one table, as far as Palisade cares: the hashes of the
// rules of every PAL chain, and the rules of other chains that jump into a PAL chain.
type tableState struct {
	chains map[string][]string // PAL chain -> hash per rule ("" for a rule without one)
	// hooks are rules in chains Palisade does not own that jump or go to one of its chains, as
	// "-A CHAIN rest" lines; cleanup deletes those that carry Palisade's hook comment.
	hooks []string
}

// parseSave reads iptables-save output into one tableState per table. Lines it does not know
// (comments, counters, COMMIT) are skipped; a rule or chain outside a table is an error naming the line.
func parseSave(out []byte) (map[string]*tableState, error) {
	tables := map[string]*tableState{}
	var cur *tableState
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case line == "" || line[0] == '#' || line == "COMMIT":
		case line[0] == '*':
			name := strings.TrimSpace(line[1:])
			if name == "" {
				return nil, fmt.Errorf("iptables-save line %d: table without a name", n)
			}
			cur = &tableState{chains: map[string][]string{}}
			tables[name] = cur
		case line[0] == ':':
			if cur == nil {
				return nil, fmt.Errorf("iptables-save line %d: chain outside a table", n)
			}
			name, _, _ := strings.Cut(line[1:], " ")
			if desired.Owned(name) {
				if _, ok := cur.chains[name]; !ok {
					cur.chains[name] = []string{}
				}
			}
		case strings.HasPrefix(line, "-A "):
			if cur == nil {
				return nil, fmt.Errorf("iptables-save line %d: rule outside a table", n)
			}
			chain, rest, _ := strings.Cut(line[3:], " ")
			if desired.Owned(chain) {
				cur.chains[chain] = append(cur.chains[chain], ruleHash(rest))
			} else if jumpsToOwned(rest) {
				cur.hooks = append(cur.hooks, line)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading iptables-save output: %w", err)
	}
	return tables, nil
}

// jumpsToOwned reports whether a rule's target is a Palisade chain.
func jumpsToOwned(rest string) bool {
	for _, flag := range []string{"-j ", "-g ", "--jump ", "--goto "} {
		if i := strings.Index(rest, flag); i >= 0 && desired.Owned(rest[i+len(flag):]) {
			return true
		}
	}
	return false
}
