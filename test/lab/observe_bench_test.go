package lab_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
)

// BenchmarkNewConnections measures new TCP connections (connect, echo, close) from obs/client on
// node-1 to a server on node-2, through real palisade-enforcers at their default flags, with the
// policy that allows them in Audit (shadowed: sampled by NFLOG and evaluated by the observer) and
// the same policy Enforced, in the same lab and the same run (docs/benchmarks.md records the ratio).
// It needs root:
//
//	go test -run '^$' -bench NewConnections -benchtime 2000x ./test/lab/
func BenchmarkNewConnections(b *testing.B) {
	bl := startBenchLab(b)
	// Rounds alternate the two phases so that the machine's load drifts over both alike (-count
	// would run all rounds of one phase, then all of the other).
	for round := range 3 {
		for _, phase := range []v1alpha1.RolloutPhase{v1alpha1.PhaseEnforced, v1alpha1.PhaseAudit} {
			benchPhase(b, bl, phase, round)
		}
	}
}

// benchPhase measures one round of one phase.
func benchPhase(b *testing.B, bl *benchLab, phase v1alpha1.RolloutPhase, round int) {
	b.Run(fmt.Sprintf("%s/round-%d", phase, round+1), func(b *testing.B) {
		bl.setPhase(b, phase)
		ns, _ := bl.l.PodNS("obs/client")
		to := mustAddr(bl.ip)
		b.ResetTimer()
		for i := range b.N {
			if !echoOnce(ns, to, fmt.Sprintf("c%d", i)) {
				b.Fatalf("connection %d failed in %s: the policy allows the client", i, phase)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "conn/s")
	})
}

type benchLab struct {
	l     *lab.Lab
	ip    string
	phase v1alpha1.RolloutPhase
}

var (
	benchOnce sync.Once
	bench     *benchLab
	benchErr  error
)

// startBenchLab starts the benchmark's lab once per test binary; it is closed when the binary ends
// (b.Cleanup of the first benchmark would close it between the sub-benchmarks' rounds).
func startBenchLab(b *testing.B) *benchLab {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Fatal("this benchmark creates network namespaces and must run as root")
	}
	benchOnce.Do(func() {
		enforcer := filepath.Join(os.TempDir(), fmt.Sprintf("palisade-enforcer-bench-%d", os.Getpid()))
		if out, err := exec.Command("go", "build", "-o", enforcer, "../../cmd/palisade-enforcer").CombinedOutput(); err != nil {
			benchErr = fmt.Errorf("building palisade-enforcer: %w: %s", err, out)
			return
		}
		in, out := canaryNames(50)
		yaml := strings.Replace(observeYAML(in, out), "app == 'nobody'", "app == 'client'", 1)
		set, err := manifestSet(yaml)
		if err != nil {
			benchErr = err
			return
		}
		l, err := lab.Start(context.Background(), set, lab.Options{Nodes: 2, NodeProcess: lab.NodeProcess{
			Command: []string{enforcer, "run", "--kubeconfig={{.Kubeconfig}}", "--node-name={{.Node}}",
				"--health-addr=127.0.0.1:9808", "--metrics-addr=0", "--min-sync-interval=100ms", "--report-interval=1s"},
			ReadyURL: "http://127.0.0.1:9808/readyz",
		}})
		if err != nil {
			benchErr = err
			return
		}
		bench = &benchLab{l: l}
		for _, p := range l.Plan.Pods {
			if p.Ref == "obs/"+out {
				bench.ip = p.IP.String()
			}
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

// setPhase writes the policy's status and waits until both nodes report it, then a second for the
// dataplane sync that follows.
func (bl *benchLab) setPhase(b *testing.B, phase v1alpha1.RolloutPhase) {
	b.Helper()
	if bl.phase == phase {
		return
	}
	ctx := context.Background()
	var np v1alpha1.NetworkPolicy
	if err := bl.l.Client.Get(ctx, client.ObjectKey{Namespace: "obs", Name: "guard"}, &np); err != nil {
		b.Fatal(err)
	}
	start := metav1.NewTime(time.Now().Truncate(time.Second))
	np.Status = v1alpha1.PolicyStatus{ObservedGeneration: np.Generation, Phase: phase, Evidence: &v1alpha1.Evidence{WindowStart: &start}}
	if phase == v1alpha1.PhaseEnforced {
		np.Status.EnforcedGeneration = np.Generation
	}
	if err := bl.l.Client.Status().Update(ctx, &np); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		var list v1alpha1.NodeReportList
		if err := bl.l.Client.List(ctx, &list); err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, nr := range list.Items {
			for _, p := range nr.Spec.Policies {
				if p.Name == "guard" && p.Phase == phase && p.WindowStart != nil && p.WindowStart.Equal(&start) {
					n++
				}
			}
		}
		if n == 2 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the nodes did not report phase %s", phase)
		}
		time.Sleep(200 * time.Millisecond)
	}
	time.Sleep(time.Second)
	bl.phase = phase
}

// TestMain's m.Run returns after the benchmarks: the lab of the benchmarks is closed there.
func closeBenchLab() {
	if bench != nil {
		_ = bench.l.Close()
	}
}
