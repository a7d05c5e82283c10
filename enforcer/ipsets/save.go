package ipsets

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/palisade-dev/palisade/enforcer/desired"
)

// setState is one Palisade set as the kernel holds it.
type setState struct {
	typ, family string
	maxelem     int
	members     map[string]struct{}
}

// parseSave reads `ipset save` output and keeps the sets named with Palisade's prefix; every other
// set is skipped unread. A malformed line of a Palisade set is an error naming the line.
func parseSave(out []byte) (map[string]*setState, error) {
	sets := map[string]*setState{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || !desired.Owned(f[1]) {
			continue
		}
		switch f[0] {
		case "create":
			if len(f) < 3 {
				return nil, fmt.Errorf("ipset save line %d: create without a type", n)
			}
			s := &setState{typ: f[2], family: "inet", maxelem: 65536, members: map[string]struct{}{}}
			for i := 3; i+1 < len(f); i++ {
				switch f[i] {
				case "family":
					s.family = f[i+1]
				case "maxelem":
					v, err := strconv.Atoi(f[i+1])
					if err != nil {
						return nil, fmt.Errorf("ipset save line %d: maxelem %q: %w", n, f[i+1], err)
					}
					s.maxelem = v
				}
			}
			sets[f[1]] = s
		case "add":
			s := sets[f[1]]
			if s == nil || len(f) < 3 {
				return nil, fmt.Errorf("ipset save line %d: add to undeclared set %s or without a member", n, f[1])
			}
			s.members[canonical(s.typ, f[2])] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading ipset save output: %w", err)
	}
	return sets, nil
}
