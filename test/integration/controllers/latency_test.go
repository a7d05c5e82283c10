package controllersintegration

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

var (
	latencyBatch    = flag.Duration("latency-batch", time.Second, "the operator's ReportBatch in BenchmarkDenialToStatus")
	latencyPolicies = flag.Int("latency-policies", 100, "policies each node report mentions in BenchmarkDenialToStatus")
)

// BenchmarkDenialToStatus measures how long a denial takes from a node's report to the policy's
// status: the time from the NodeReport update that shows a new would-deny flow to the watch event in
// which the policy's status.evidence counts it and lists the flow. The operator runs as in
// production (controllers watching, ReportBatch -latency-batch); the report mentions
// -latency-policies policies, every one of which is reconciled after each report, as a real node's
// report would make happen. The baseline, in the same units, is ReportBatch: the operator waits that
// long on purpose before deciding, so the ratio says what the rest (reconcile, status patch, watch
// delivery) adds.
//
//	go test ./test/integration/controllers -run '^$' -bench DenialToStatus -benchtime 20x -latency-batch 1s
func BenchmarkDenialToStatus(b *testing.B) {
	logf.SetLogger(logr.Discard())
	saved := reportBatch
	reportBatch = *latencyBatch
	defer func() { reportBatch = saved }()
	e, err := startEnvironment(true, 4)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := e.stop(); err != nil {
			b.Error(err)
		}
	}()
	ctx := context.Background()
	const ns = "bench-latency"
	if err := e.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	tolerate := int64(1 << 40) // the window never starts again: counts only grow
	names := make([]string, *latencyPolicies)
	for i := range names {
		names[i] = fmt.Sprintf("p-%04d", i)
		if err := e.client.Create(ctx, makePolicy(ns, names[i], func(p *v1alpha1.NetworkPolicy) { p.Spec.Rollout.Audit.MaxDenials = &tolerate })); err != nil {
			b.Fatal(err)
		}
	}
	policies := waitAllInAudit(b, e.client, ns, len(names))
	wc, err := client.NewWithWatch(e.cfg, client.Options{Scheme: e.scheme})
	if err != nil {
		b.Fatal(err)
	}
	target := types.NamespacedName{Namespace: ns, Name: names[0]}

	var latencies []time.Duration
	i := int64(0)
	for b.Loop() {
		i++
		src := fmt.Sprintf("198.18.%d.%d", i/250, i%250+1)
		reports := make([]v1alpha1.PolicyReport, len(policies))
		for j := range policies {
			reports[j] = echo(&policies[j], v1alpha1.FlowCounts{Allowed: i})
		}
		for j := range reports {
			if reports[j].Name == target.Name {
				reports[j].Window.WouldDeny = i
				reports[j].WouldDenyFlows = []v1alpha1.ObservedFlow{{Source: src, Destination: "198.19.0.1", Protocol: "TCP", Port: 443, Count: i}}
			}
		}
		w := watchPolicy(b, wc, target)
		start := time.Now()
		writeBenchReport(b, e, reports)
		waitEvidence(b, w, i, src)
		latencies = append(latencies, time.Since(start))
		w.Stop()
	}
	b.StopTimer()
	slices.Sort(latencies)
	median, p90 := latencies[len(latencies)/2], latencies[len(latencies)*9/10]
	b.ReportMetric(float64(median)/float64(time.Millisecond), "median-ms")
	b.ReportMetric(float64(p90)/float64(time.Millisecond), "p90-ms")
	b.ReportMetric(float64(median)/float64(*latencyBatch), "median/batch")
	b.Logf("%d denials, ReportBatch %s, %d policies per report: median %s (%.2f× the batch), p90 %s, max %s",
		len(latencies), *latencyBatch, len(names), median.Round(time.Millisecond), float64(median)/float64(*latencyBatch),
		p90.Round(time.Millisecond), latencies[len(latencies)-1].Round(time.Millisecond))
}

func waitAllInAudit(b *testing.B, c client.Client, ns string, n int) []v1alpha1.NetworkPolicy {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var l v1alpha1.NetworkPolicyList
		if err := c.List(context.Background(), &l, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, p := range l.Items {
			if p.Status.Phase == v1alpha1.PhaseAudit && p.Status.Evidence != nil && p.Status.Evidence.WindowStart != nil {
				ready++
			}
		}
		if ready == n {
			return l.Items
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d policies in Audit", ready, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watchPolicy starts a watch on one policy from its current resource version.
func watchPolicy(b *testing.B, c client.WithWatch, key types.NamespacedName) watch.Interface {
	b.Helper()
	var l v1alpha1.NetworkPolicyList
	sel := client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", key.Name)}
	if err := c.List(context.Background(), &l, client.InNamespace(key.Namespace), sel); err != nil {
		b.Fatal(err)
	}
	w, err := c.Watch(context.Background(), &v1alpha1.NetworkPolicyList{}, client.InNamespace(key.Namespace), sel,
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: l.ResourceVersion}})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

// writeBenchReport replaces node-a's report.
func writeBenchReport(b *testing.B, e *environment, policies []v1alpha1.PolicyReport) {
	b.Helper()
	ctx := context.Background()
	nr := &v1alpha1.NodeReport{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}
	err := e.client.Get(ctx, types.NamespacedName{Name: "node-a"}, nr)
	nr.Spec = v1alpha1.NodeReportSpec{NodeName: "node-a", ReportTime: metav1.NewMicroTime(e.clock.Now()),
		PolicyCount: int32(len(policies)), Policies: policies}
	if err != nil {
		err = e.client.Create(ctx, nr)
	} else {
		err = e.client.Update(ctx, nr)
	}
	if err != nil {
		b.Fatal(err)
	}
}

// waitEvidence reads watch events until the policy's evidence counts wouldDeny and lists src.
func waitEvidence(b *testing.B, w watch.Interface, wouldDeny int64, src string) {
	b.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case <-timeout:
			b.Fatalf("status never showed would-deny %d from %s", wouldDeny, src)
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("the watch closed")
			}
			p, isNP := ev.Object.(*v1alpha1.NetworkPolicy)
			if !isNP || p.Status.Evidence == nil || p.Status.Evidence.WouldDeny != wouldDeny {
				continue
			}
			for _, f := range p.Status.Evidence.TopFlows {
				if f.Source == src {
					return
				}
			}
		}
	}
}
