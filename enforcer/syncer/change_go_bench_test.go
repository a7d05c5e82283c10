package syncer

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/ipsets"
	"github.com/palisade-dev/palisade/enforcer/iptables"
)

// BenchmarkGoShareOfChange is BenchmarkChange's policy and label changes with the tools replaced
// by a fake that accepts every restore and reads an empty kernel: the Go share of a change (the
// engine, the model, the renderer, FromRender, validation and the appliers' diffs), without root
// and without the noise of the kernel and of process starts, for profiling.
//
//	go test -run '^$' -bench BenchmarkGoShareOfChange ./enforcer/syncer/
func BenchmarkGoShareOfChange(b *testing.B) {
	fake := command.Func(func(context.Context, []byte, string, ...string) ([]byte, error) { return nil, nil })
	tools := iptables.ToolsFor(iptables.NFT, desired.IPv4)
	for _, policies := range []int{100, 1000} {
		shape := clusterShape{10000, 100, policies}
		w := &changeWorld{shape: shape, e: shape.build(b), ir: newIncrementalRenderer(b)}
		w.s = &Syncer{
			DesiredState: func(context.Context) (desired.Ruleset, error) { return w.ir.render(w.e) },
			Families:     []Family{{Tables: iptables.New(iptables.Config{Family: desired.IPv4, Tools: tools, Exec: fake})}},
			Sets:         ipsets.New(fake),
		}
		if _, err := w.s.Sync(context.Background(), true); err != nil {
			b.Fatal(err)
		}
		for _, c := range []struct {
			name string
			run  func(testing.TB) cost
		}{{"policy", w.policyChange}, {"label", w.labelChange}} {
			b.Run(fmt.Sprintf("%s-%d", c.name, policies), func(b *testing.B) {
				var cpu time.Duration
				for b.Loop() {
					cpu += c.run(b).cpu
				}
				b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
