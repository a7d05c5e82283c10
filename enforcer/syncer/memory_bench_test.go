package syncer

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/pkg/render"
)

// heapInUse is the Go heap's live bytes after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkEnforcerMemory measures what an enforcer holds for one node: the engine loaded with the
// whole cluster, the node's model, its rendered program and the desired state (what the syncer
// keeps between syncs is smaller: the hashes of what it wrote). Memory is the Go heap in use after
// a full collection (runtime.MemStats.HeapAlloc), each part added in turn; the process's RSS
// adds the runtime's own overhead and freed pages not yet returned, which depend on the GC's
// timing rather than on the cluster. Clusters of 1,000, 10,000 and 30,000 pods with the node's
// share fixed (100 pods on the node) and 1,000 policies (10 per namespace, each applying to every
// pod of its namespace).
//
//	go test -run '^$' -bench BenchmarkEnforcerMemory -benchtime 1x ./enforcer/syncer/
func BenchmarkEnforcerMemory(b *testing.B) {
	var first float64
	for _, pods := range []int{1000, 10000, 30000} {
		shape := clusterShape{pods, 100, 1000}
		b.Run(fmt.Sprintf("pods=%d", pods), func(b *testing.B) {
			for b.Loop() {
				base := heapInUse()
				e := shape.build(b)
				afterEngine := heapInUse()
				m := e.NodeModel(benchNode)
				afterModel := heapInUse()
				p4, p6, err := render.Build(m, render.DefaultOptions())
				if err != nil {
					b.Fatal(err)
				}
				afterProgram := heapInUse()
				rs := desired.FromRender(p4.Ruleset(), p6.Ruleset())
				afterDesired := heapInUse()
				mib := func(x uint64) float64 { return float64(x) / (1 << 20) }
				b.ReportMetric(mib(afterEngine-base), "engine-MiB")
				b.ReportMetric(mib(afterModel-afterEngine), "model-MiB")
				b.ReportMetric(mib(afterProgram-afterModel), "program-MiB")
				b.ReportMetric(mib(afterDesired-afterProgram), "desired-MiB")
				total := mib(afterDesired - base)
				b.ReportMetric(total, "total-MiB")
				b.ReportMetric(float64(afterEngine-base)/float64(pods), "engine-B/pod")
				if first == 0 {
					first = total
				}
				_, rules := ipv4Rules(&rs)
				b.Logf("%d pods: engine %.1f MiB, model %.1f, program %.1f, desired %.1f, total %.1f MiB (%.2fx the 1,000-pod cluster); %d rules, %d sets, %d members",
					pods, mib(afterEngine-base), mib(afterModel-afterEngine), mib(afterProgram-afterModel), mib(afterDesired-afterProgram), total, total/first,
					rules, len(rs.Sets), setMembers(&rs))
				runtime.KeepAlive(e)
				runtime.KeepAlive(m)
				runtime.KeepAlive(p4)
				runtime.KeepAlive(p6)
				runtime.KeepAlive(rs)
			}
		})
	}
}
