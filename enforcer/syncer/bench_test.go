package syncer

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"testing"

	goiptables "github.com/coreos/go-iptables/iptables"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/ipsets"
	"github.com/palisade-dev/palisade/enforcer/iptables"
	"github.com/palisade-dev/palisade/enforcer/netns"
)

// benchRounds is how many interleaved rounds the enforcer's benchmarks run of each case; they
// report medians.
var benchRounds = flag.Int("bench-rounds", 5, "interleaved rounds per case in the enforcer's benchmarks")

// splitRule splits rule text into arguments, keeping quoted comments whole.
func splitRule(r string) []string {
	var out []string
	for i, part := range strings.Split(r, `"`) {
		if i%2 == 1 {
			out = append(out, part)
			continue
		}
		out = append(out, strings.Fields(part)...)
	}
	return out
}

func newBenchSyncer(b testing.TB, ns string, exec command.Executor, state func(context.Context) (desired.Ruleset, error), tools iptables.Tools) *Syncer {
	hooks, err := iptables.NewHooks(tools, desired.IPv4, ns)
	if err != nil {
		b.Fatal(err)
	}
	return &Syncer{
		DesiredState: state,
		Families:     []Family{{Tables: iptables.New(iptables.Config{Family: desired.IPv4, Tools: tools, Exec: exec, WaitSeconds: 5}), Hooks: hooks}},
		Sets:         ipsets.New(exec),
	}
}

// restoreText runs one first sync of rs in a scratch namespace and returns the ipset restore and
// iptables-restore text the syncer sent: the baseline's input, exactly what the applier wrote.
func restoreText(b *testing.B, rs desired.Ruleset, tools iptables.Tools) (setText, ruleText string) {
	b.Helper()
	ns, remove := enforcertest.NewNetns(b)
	defer remove()
	rec := &command.Recorder{Next: command.Exec{Netns: ns}}
	s := newBenchSyncer(b, ns, rec, func(context.Context) (desired.Ruleset, error) { return rs, nil }, tools)
	if _, err := s.Sync(context.Background(), true); err != nil {
		b.Fatal(err)
	}
	for _, c := range rec.Calls() {
		switch {
		case c.Args[0] == "ipset" && c.Args[len(c.Args)-1] == "restore":
			setText += c.Stdin
		case c.Args[0] == tools.Restore:
			ruleText += c.Stdin
		}
	}
	return setText, ruleText
}

// BenchmarkFullSync measures a first full sync of one node as the enforcer does it: the engine's
// model of the node (NodeModel), the renderer (render.Render), desired.FromRender and the syncer
// (read, diff, ipset restore, iptables-restore --noflush, the FORWARD hook, the pruning pass), each
// into a fresh network namespace (created and removed outside the timer). In the same run,
// interleaved round by round:
//
//   - restore-only: ipset restore and iptables-restore of the same text alone (captured from one
//     sync), the floor of any restore-based enforcer;
//   - render-only: the pure share (NodeModel, Render, FromRender), no kernel;
//   - hook-alone: the syncer's FORWARD hook (go-iptables: list FORWARD, insert the jump) into a
//     table already holding the ruleset, its share of the pipeline;
//   - go-iptables-per-rule: the ruleset loaded by restore except the rules of its last 50 policy
//     chains, which are then appended one go-iptables call at a time (per-rule cost of an enforcer
//     without restore transactions, against a table of the full size; compare ns/rule).
//
// Shapes: the (10,000 pods, 100 on the node, 1,000 policies) and a node with 1,000 pods.
//
//	go test -run '^$' -bench BenchmarkFullSync -benchtime 1x ./enforcer/syncer/   # as root
func BenchmarkFullSync(b *testing.B) {
	for _, shape := range []clusterShape{{10000, 100, 1000}, {10000, 1000, 1000}} {
		b.Run(shape.String(), func(b *testing.B) { benchFullSync(b, shape) })
	}
}

func benchFullSync(b *testing.B, shape clusterShape) {
	ctx := context.Background()
	tools := iptables.ToolsFor(iptables.NFT, desired.IPv4)
	e := shape.build(b)
	rs, err := renderNode(e)
	if err != nil {
		b.Fatal(err)
	}
	_, rules := ipv4Rules(&rs)
	setText, ruleText := restoreText(b, rs, tools)

	// The go-iptables case: the last 50 policy chains' rules, one call each.
	chains := rs.Tables[0].Chains
	var tail []desired.Chain
	for i := len(chains) - 1; i >= 0 && len(tail) < 50; i-- {
		if strings.HasPrefix(chains[i].Name, "PAL-PI-") || strings.HasPrefix(chains[i].Name, "PAL-PO-") {
			tail = append(tail, chains[i])
		}
	}
	inTail := map[string]bool{}
	tailRules := 0
	for _, c := range tail {
		inTail[c.Name] = true
		tailRules += len(c.Rules)
	}
	var base strings.Builder
	base.WriteString("*filter\n")
	for _, c := range chains {
		base.WriteString(":" + c.Name + " - [0:0]\n")
	}
	for _, c := range chains {
		if !inTail[c.Name] {
			for _, r := range c.Rules {
				base.WriteString("-A " + c.Name + " " + r + "\n")
			}
		}
	}
	base.WriteString("COMMIT\n")

	inFreshNetns := func(tb testing.TB, setup func(ns string), fn func(ns string)) cost {
		ns, remove := enforcertest.NewNetns(tb)
		defer remove()
		if setup != nil {
			setup(ns)
		}
		return measure(tb, func() { fn(ns) })
	}
	cases := []benchCase{
		{"pipeline", func(tb testing.TB) cost {
			var s *Syncer
			return inFreshNetns(tb, func(ns string) {
				// A fresh incremental renderer: the enforcer's first sync, caches filled on the way.
				ir := newIncrementalRenderer(tb)
				s = newBenchSyncer(tb, ns, command.Exec{Netns: ns}, func(context.Context) (desired.Ruleset, error) { return ir.render(e) }, tools)
			}, func(string) {
				if _, err := s.Sync(ctx, true); err != nil {
					tb.Fatal(err)
				}
			})
		}},
		{"restore-only", func(tb testing.TB) cost {
			return inFreshNetns(tb, nil, func(ns string) {
				exec := command.Exec{Netns: ns}
				if _, err := exec.Run(ctx, []byte(setText), "ipset", "-exist", "restore"); err != nil {
					tb.Fatal(err)
				}
				if _, err := exec.Run(ctx, []byte(ruleText), tools.Restore, "--noflush", "-w", "5"); err != nil {
					tb.Fatal(err)
				}
			})
		}},
		{"render-only", func(tb testing.TB) cost {
			ir := newIncrementalRenderer(tb)
			return measure(tb, func() {
				if _, err := ir.render(e); err != nil {
					tb.Fatal(err)
				}
			})
		}},
		{"hook-alone", func(tb testing.TB) cost {
			// The FORWARD hook through go-iptables (a listing of FORWARD and an insert) into a
			// table that already holds the ruleset, as the syncer adds it after the restore.
			var h *iptables.Hooks
			return inFreshNetns(tb, func(ns string) {
				enforcertest.Run(tb, ns, setText, "ipset", "-exist", "restore")
				enforcertest.Run(tb, ns, ruleText, tools.Restore, "--noflush")
				var err error
				if h, err = iptables.NewHooks(tools, desired.IPv4, ns); err != nil {
					tb.Fatal(err)
				}
			}, func(string) {
				if _, err := h.EnsureJump(); err != nil {
					tb.Fatal(err)
				}
			})
		}},
		{"go-iptables-tail", func(tb testing.TB) cost {
			return inFreshNetns(tb, func(ns string) {
				enforcertest.Run(tb, ns, setText, "ipset", "-exist", "restore")
				enforcertest.Run(tb, ns, base.String(), tools.Restore, "--noflush")
			}, func(ns string) {
				err := netns.Do(ns, func() error {
					ipt, err := goiptables.New(goiptables.Path("/usr/sbin/"+tools.Iptables), goiptables.Timeout(5))
					if err != nil {
						return err
					}
					for _, c := range tail {
						for _, r := range c.Rules {
							if err := ipt.Append("filter", c.Name, splitRule(r)...); err != nil {
								return fmt.Errorf("%s %s: %w", c.Name, r, err)
							}
						}
					}
					return nil
				})
				if err != nil {
					tb.Fatal(err)
				}
			})
		}},
	}
	for b.Loop() {
		res := interleave(b, *benchRounds, cases)
		report(b, res, []string{"restore-only", "pipeline", "render-only", "hook-alone", "go-iptables-tail"}, "restore-only")
		perRule := func(name string, n int) float64 {
			return float64(median(res[name], wallOf).Microseconds()) / float64(n)
		}
		b.ReportMetric(perRule("pipeline", rules), "pipeline-µs/rule")
		b.ReportMetric(perRule("go-iptables-tail", tailRules), "go-iptables-µs/rule")
		b.Logf("%s: %d rules, %d sets, %d members; pipeline %.1f µs/rule, go-iptables %.1f µs/rule (%.0fx)",
			shape, rules, len(rs.Sets), setMembers(&rs), perRule("pipeline", rules), perRule("go-iptables-tail", tailRules),
			perRule("go-iptables-tail", tailRules)/perRule("pipeline", rules))
	}
}
