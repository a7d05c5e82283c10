package controllersintegration

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

var (
	benchPolicies = flag.Int("policies", 1000, "policies per set in BenchmarkReconcileThroughput")
	benchNodes    = flag.Int("nodes", 3, "nodes whose reports mention every reconciled policy in BenchmarkReconcileThroughput")
	benchWorkers  = flag.Int("workers", 8, "concurrent reconciles (and concurrent patches) in BenchmarkReconcileThroughput")
	benchEvents   = flag.Bool("events", true, "record events in BenchmarkReconcileThroughput (false: measure the reconcile without its event writes)")
)

// BenchmarkReconcileThroughput reconciles N new NetworkPolicies (their first decision: gather the node
// reports, compile, plan, list revisions, patch status) and, as the baseline in the same run against
// the same API server, applies N status-only patches to N other new policies with no planner: read from
// the cache, set a phase and a condition, patch with the same optimistic lock. Both run with the same
// number of workers. Every reconciled policy is mentioned by the reports of -nodes nodes (sharded at
// the NodeReport's 2,000-policy bound), so gathering evidence scans realistic reports.
//
//	go test ./test/integration/controllers -run '^$' -bench ReconcileThroughput -benchtime 1x -policies 10000
func BenchmarkReconcileThroughput(b *testing.B) {
	logf.SetLogger(logr.Discard())
	e, err := startEnvironment(false, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := e.stop(); err != nil {
			b.Error(err)
		}
	}()
	ctx := context.Background()
	n := *benchPolicies
	for _, ns := range []string{"bench-reconcile", "bench-patch"} {
		if err := e.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			b.Fatal(err)
		}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("p-%05d", i)
	}
	start := time.Now()
	parallel(b, n, 16, func(i int) error {
		if err := e.client.Create(ctx, makePolicy("bench-reconcile", names[i])); err != nil {
			return err
		}
		return e.client.Create(ctx, makePolicy("bench-patch", names[i]))
	})
	writeBenchReports(b, e, names)
	b.Logf("created %d policies and %d node reports in %s", 2*n, *benchNodes, time.Since(start).Round(time.Millisecond))
	reader := e.reconcilers.NetworkPolicy.Client
	if !*benchEvents {
		e.reconcilers.NetworkPolicy.Recorder = nil
	}
	waitCached(b, reader, 2*n)

	b.ResetTimer()
	var reconcileTime, patchTime time.Duration
	for b.Loop() {
		start = time.Now()
		parallel(b, n, *benchWorkers, func(i int) error {
			for {
				_, err := e.reconcilers.NetworkPolicy.Reconcile(ctx, ctrl.Request{NamespacedName: types.NamespacedName{Namespace: "bench-reconcile", Name: names[i]}})
				if err == nil || !isConflict(err) {
					return err
				}
			}
		})
		reconcileTime = time.Since(start)

		start = time.Now()
		parallel(b, n, *benchWorkers, func(i int) error {
			return statusOnlyPatch(ctx, reader, types.NamespacedName{Namespace: "bench-patch", Name: names[i]}, e.clock.Now())
		})
		patchTime = time.Since(start)
	}
	b.StopTimer()
	// Every reconciled policy got its first decision.
	var l v1alpha1.NetworkPolicyList
	if err := e.client.List(ctx, &l, client.InNamespace("bench-reconcile")); err != nil {
		b.Fatal(err)
	}
	for _, p := range l.Items {
		if p.Status.Phase != v1alpha1.PhaseAudit || p.Status.NodesDesired != int32(*benchNodes) {
			b.Fatalf("%s: phase %q, nodes desired %d after the benchmark", p.Name, p.Status.Phase, p.Status.NodesDesired)
		}
	}
	b.ReportMetric(float64(n)/reconcileTime.Seconds(), "reconciles/s")
	b.ReportMetric(float64(n)/patchTime.Seconds(), "patches/s")
	b.ReportMetric(reconcileTime.Seconds()/patchTime.Seconds(), "reconcile/patch")
	b.Logf("%d policies, %d nodes, %d workers, events %t: reconcile %s (%.0f/s), status-only patches %s (%.0f/s), ratio %.2f",
		n, *benchNodes, *benchWorkers, *benchEvents, reconcileTime.Round(time.Millisecond), float64(n)/reconcileTime.Seconds(),
		patchTime.Round(time.Millisecond), float64(n)/patchTime.Seconds(), reconcileTime.Seconds()/patchTime.Seconds())
}

// statusOnlyPatch is the baseline: what any controller pays to write a status, with no decision.
func statusOnlyPatch(ctx context.Context, c client.Client, key types.NamespacedName, now time.Time) error {
	for {
		p := &v1alpha1.NetworkPolicy{}
		if err := c.Get(ctx, key, p); err != nil {
			return err
		}
		patch := client.MergeFromWithOptions(p.DeepCopy(), client.MergeFromWithOptimisticLock{})
		p.Status.Phase, p.Status.ObservedGeneration = v1alpha1.PhaseAudit, p.Generation
		meta.SetStatusCondition(&p.Status.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Programming",
			Message: "baseline", ObservedGeneration: p.Generation, LastTransitionTime: metav1.NewTime(now),
		})
		err := c.Status().Patch(ctx, p, patch)
		if err == nil || !isConflict(err) {
			return err
		}
	}
}

// writeBenchReports writes the reports of -nodes nodes mentioning every reconciled policy, in shards
// of at most MaxReportedPolicies.
func writeBenchReports(b *testing.B, e *environment, names []string) {
	b.Helper()
	ctx := context.Background()
	for node := range *benchNodes {
		for shard := 0; shard*v1alpha1.MaxReportedPolicies < len(names); shard++ {
			lo, hi := shard*v1alpha1.MaxReportedPolicies, min(len(names), (shard+1)*v1alpha1.MaxReportedPolicies)
			nr := &v1alpha1.NodeReport{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("node-%d-%d", node, shard)}}
			nr.Spec.NodeName = fmt.Sprintf("node-%d", node)
			nr.Spec.ReportTime = metav1.NewMicroTime(e.clock.Now())
			for _, name := range names[lo:hi] {
				nr.Spec.Policies = append(nr.Spec.Policies, v1alpha1.PolicyReport{
					Kind: v1alpha1.KindNetworkPolicy, Namespace: "bench-reconcile", Name: name, Generation: 1,
					Window: v1alpha1.FlowCounts{Allowed: 1},
				})
			}
			nr.Spec.PolicyCount = int32(len(nr.Spec.Policies))
			if err := e.client.Create(ctx, nr); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func waitCached(b *testing.B, c client.Reader, want int) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var l v1alpha1.NetworkPolicyList
		if err := c.List(context.Background(), &l); err != nil {
			b.Fatal(err)
		}
		if len(l.Items) >= want {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("cache holds %d policies, want %d", len(l.Items), want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// parallel runs f(0..n-1) on workers goroutines and fails the benchmark on the first error.
func parallel(b *testing.B, n, workers int, f func(int) error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
}

func isConflict(err error) bool {
	return apierrors.IsConflict(errors.Unwrap(err)) || apierrors.IsConflict(err)
}
