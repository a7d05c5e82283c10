package syncer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/enforcertest"
	"github.com/palisade-dev/palisade/enforcer/iptables"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// changeWorld is one cluster programmed into its own namespace, ready for incremental syncs.
type changeWorld struct {
	shape clusterShape
	e     *engine.Engine
	s     *Syncer
	// ir renders the node for s, keeping what the last sync rendered, as the enforcer does;
	// alone renders it for the render-change case only.
	ir, alone *incrementalRenderer
	// policyFlips and labelFlips count the changes made, so that each one alternates.
	policyFlips, labelFlips, renderFlips int
}

func newChangeWorld(b *testing.B, shape clusterShape, tools iptables.Tools) *changeWorld {
	w := &changeWorld{shape: shape, e: shape.build(b), ir: newIncrementalRenderer(b), alone: newIncrementalRenderer(b)}
	ns := enforcertest.Netns(b)
	w.s = newBenchSyncer(b, ns, command.Exec{Netns: ns}, func(context.Context) (desired.Ruleset, error) { return w.ir.render(w.e) }, tools)
	if _, err := w.s.Sync(context.Background(), true); err != nil {
		b.Fatal(err)
	}
	if _, err := w.alone.render(w.e); err != nil {
		b.Fatal(err)
	}
	return w
}

// renderChange relabels another pod of another node (ns0/pod2, between a2 and a8) and renders
// the node through its own incremental renderer, without syncing: the pure share of a change.
func (w *changeWorld) renderChange(tb testing.TB) cost {
	w.renderFlips++
	app := "a2"
	if w.renderFlips%2 == 1 {
		app = "a8"
	}
	return measure(tb, func() {
		if err := w.e.UpsertPod(w.shape.benchPod(0, 2, app)); err != nil {
			tb.Fatal(err)
		}
		if _, err := w.alone.render(w.e); err != nil {
			tb.Fatal(err)
		}
	})
}

// policyChange edits one policy of a local pod (ns0/p0 alternates its ingress port between 80 and
// 81) and syncs: the engine update, the node's model, the renderer, the diff and the restore of
// the changed chains.
func (w *changeWorld) policyChange(tb testing.TB) cost {
	w.policyFlips++
	port := int32(80 + w.policyFlips%2)
	return measure(tb, func() {
		if err := w.e.UpsertNetworkPolicy(benchPolicy("ns0", 0, port), engine.SlotEnforced); err != nil {
			tb.Fatal(err)
		}
		st, err := w.s.Sync(context.Background(), false)
		if err != nil {
			tb.Fatal(err)
		}
		if st.ChainsWritten == 0 || st.ChainsWritten > 2 {
			tb.Fatalf("a one-rule policy change rewrote %d chains", st.ChainsWritten)
		}
	})
}

// labelChange relabels one pod of another node (ns0/pod1 alternates between app a1 and a7), which
// moves it between two selector sets, and syncs.
func (w *changeWorld) labelChange(tb testing.TB) cost {
	w.labelFlips++
	app := "a1"
	if w.labelFlips%2 == 1 {
		app = "a7"
	}
	return measure(tb, func() {
		if err := w.e.UpsertPod(w.shape.benchPod(0, 1, app)); err != nil {
			tb.Fatal(err)
		}
		st, err := w.s.Sync(context.Background(), false)
		if err != nil {
			tb.Fatal(err)
		}
		if st.ChainsWritten != 0 {
			tb.Fatalf("a remote pod's label change rewrote %d chains", st.ChainsWritten)
		}
		if st.Members == 0 {
			tb.Fatalf("no set programmed")
		}
	})
}

// BenchmarkChange measures one change, from the engine update to rules updated (the engine, the
// node's model, the renderer, desired.FromRender, the diff, the restore of what changed), on a
// node whose full ruleset is programmed, with 100 and with 1,000 policies (10,000 pods, 100 on
// the node), and a first full sync of each in the same run. Cases, interleaved round by round:
//
//   - policy: one policy of the node's pods changes a port (one policy chain rewritten);
//   - label: a pod on another node changes its app label (two sets change by one member);
//   - render-change: the pure share of a label change (another remote pod relabelled; the model
//     and the renderer through their caches, FromRender), no sync;
//   - render: a whole-node render from scratch (NodeModel, Render, FromRender), the cost every
//     change paid before the caches (engine.ModelCache, render.Renderer);
//   - full: a first full sync of the same node into a fresh namespace (BenchmarkFullSync's pipeline).
//
// The targets: a one-pod change under 1/20 of a full sync, and no more than 1.5× as long
// with 1,000 policies as with 100.
//
//	go test -run '^$' -bench BenchmarkChange -benchtime 1x ./enforcer/syncer/   # as root
func BenchmarkChange(b *testing.B) {
	tools := iptables.ToolsFor(iptables.NFT, desired.IPv4)
	worlds := map[int]*changeWorld{}
	var cases []benchCase
	var order []string
	for _, policies := range []int{100, 1000} {
		w := newChangeWorld(b, clusterShape{10000, 100, policies}, tools)
		worlds[policies] = w
		cases = append(cases,
			benchCase{fmt.Sprintf("policy-%d", policies), w.policyChange},
			benchCase{fmt.Sprintf("label-%d", policies), w.labelChange},
			benchCase{fmt.Sprintf("render-change-%d", policies), w.renderChange},
			benchCase{fmt.Sprintf("render-%d", policies), func(tb testing.TB) cost {
				return measure(tb, func() {
					if _, err := renderNode(w.e); err != nil {
						tb.Fatal(err)
					}
				})
			}},
			benchCase{fmt.Sprintf("full-%d", policies), func(tb testing.TB) cost {
				ns, remove := enforcertest.NewNetns(tb)
				defer remove()
				ir := newIncrementalRenderer(tb) // the enforcer's first sync: empty caches
				s := newBenchSyncer(tb, ns, command.Exec{Netns: ns}, func(context.Context) (desired.Ruleset, error) { return ir.render(w.e) }, tools)
				return measure(tb, func() {
					if _, err := s.Sync(context.Background(), true); err != nil {
						tb.Fatal(err)
					}
				})
			}},
		)
	}
	for _, c := range cases {
		order = append(order, c.name)
	}
	for b.Loop() {
		res := interleave(b, *benchRounds, cases)
		report(b, res, order, "")
		ratio := func(a, c string, f func(cost) time.Duration) float64 {
			return float64(median(res[a], f)) / float64(median(res[c], f))
		}
		for _, kind := range []string{"policy", "label", "render-change", "render", "full"} {
			r := ratio(kind+"-1000", kind+"-100", wallOf)
			b.ReportMetric(r, kind+"-1000/100")
			b.Logf("%s: 1,000 / 100 policies: wall %.2fx, cpu %.2fx", kind, r, ratio(kind+"-1000", kind+"-100", cpuOf))
		}
		// The tools' share (iptables-restore, ipset, ip netns exec): with nf_tables, a commit is
		// validated over every rule reachable from the hooks, so it grows with the ruleset.
		for _, kind := range []string{"policy", "label"} {
			ms := func(name string, f func(cost) time.Duration) float64 {
				return float64(median(res[name], f).Microseconds()) / 1e3
			}
			b.Logf("%s: cpu of the tools 100 / 1,000 policies: %.2f / %.2f ms; of the enforcer: %.2f / %.2f ms", kind,
				ms(kind+"-100", toolsOf), ms(kind+"-1000", toolsOf),
				ms(kind+"-100", func(c cost) time.Duration { return c.cpu - c.tools }),
				ms(kind+"-1000", func(c cost) time.Duration { return c.cpu - c.tools }))
		}
		for _, p := range []string{"100", "1000"} {
			for _, kind := range []string{"policy", "label", "render-change"} {
				b.Logf("%s-%s / full-%s: wall 1/%.0f, cpu 1/%.0f", kind, p, p,
					1/ratio(kind+"-"+p, "full-"+p, wallOf), 1/ratio(kind+"-"+p, "full-"+p, cpuOf))
			}
		}
	}
}
