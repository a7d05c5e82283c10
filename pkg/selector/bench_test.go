package selector

import (
	"fmt"
	"slices"
	"testing"
)

// benchSelector is a realistic policy selector: four terms, a set, a
// negation and a group.
const benchSelector = `app == "web" && env in {"prod", "staging"} && !has(quarantine) && (tier == "frontend" || tier == "edge")`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(benchSelector); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkValidate(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if err := Validate(benchSelector); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUniqueID(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = MustParse(benchSelector).UniqueID()
	}
}

// podLabels is a typical pod label set plus the labels Calico adds.
var podLabels = Set{
	"app":                              "web",
	"env":                              "prod",
	"tier":                             "frontend",
	"version":                          "v2",
	"pod-template-hash":                "6d4cf56db6",
	"projectcalico.org/namespace":      "shop",
	"projectcalico.org/orchestrator":   "k8s",
	"projectcalico.org/serviceaccount": "web",
}

func BenchmarkMatches(b *testing.B) {
	shapes := []struct{ name, sel string }{
		{"all", ``},
		{"equality", `app == "web"`},
		{"equality-miss", `app == "db"`},
		{"in-set-3", `env in {"dev", "staging", "prod"}`},
		{"in-set-16", `env in {"e0","e1","e2","e3","e4","e5","e6","e7","e8","e9","e10","e11","e12","e13","e14","prod"}`},
		{"and-3", `app == "web" && env == "prod" && has(tier)`},
		{"or-3-last", `app == "a" || app == "b" || app == "web"`},
		{"realistic", benchSelector},
		{"converted-np", `((app == "web" && env in {"prod", "staging"}) && projectcalico.org/namespace == "shop")`},
	}
	for _, s := range shapes {
		sel := MustParse(s.sel)
		var l Labels = podLabels
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sel.Matches(l)
			}
		})
	}
}

// BenchmarkSetContains compares the membership strategies for set literals
// of n members, looking up a member in the middle and a non-member. It is
// what fixed linearSetMax.
func BenchmarkSetContains(b *testing.B) {
	for _, n := range []int{1, 2, 3, 4, 8, 16, 128} {
		vals := make([]string, n)
		for i := range vals {
			vals[i] = fmt.Sprintf("value-%03d", i)
		}
		slices.Sort(vals)
		index := make(map[string]struct{}, n)
		for _, v := range vals {
			index[v] = struct{}{}
		}
		hit, miss := vals[n/2], "value-zzz"
		strategies := []struct {
			name     string
			contains func(string) bool
		}{
			{"linear", func(v string) bool {
				for _, m := range vals {
					if m == v {
						return true
					}
				}
				return false
			}},
			{"binary", func(v string) bool {
				_, ok := slices.BinarySearch(vals, v)
				return ok
			}},
			{"map", func(v string) bool {
				_, ok := index[v]
				return ok
			}},
		}
		for _, s := range strategies {
			b.Run(fmt.Sprintf("n=%d/%s", n, s.name), func(b *testing.B) {
				for b.Loop() {
					s.contains(hit)
					s.contains(miss)
				}
			})
		}
	}
}
