package desired

import "github.com/palisade-dev/palisade/pkg/render"

// FromRender maps the renderer's output for one node, one Ruleset per IP family, onto the desired
// state the syncer programs. It is a renaming only: the renderer's chains, rules and sets are taken
// as they are, in order, so what the kernel gets is exactly what pkg/render's tracer and goldens
// were checked on.
func FromRender(v4, v6 render.Ruleset) Ruleset {
	var out Ruleset
	for _, fam := range []struct {
		rs     render.Ruleset
		family Family
	}{{v4, IPv4}, {v6, IPv6}} {
		for _, t := range fam.rs.Tables {
			table := Table{Name: t.Name, Family: fam.family, Chains: make([]Chain, 0, len(t.Chains))}
			for _, c := range t.Chains {
				table.Chains = append(table.Chains, Chain{Name: c.Name, Rules: c.Rules})
			}
			out.Tables = append(out.Tables, table)
		}
		for _, s := range fam.rs.Sets {
			out.Sets = append(out.Sets, Set{Name: s.Name, Type: s.Type, Family: s.Family, Members: s.Members})
		}
	}
	return out
}
