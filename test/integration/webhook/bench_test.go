package webhookintegration

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/integration/webhook/benchload"
)

// benchReport names the file BenchmarkWebhookLatency writes its report to.
var benchReport = flag.String("bench-report", "", "write the webhook latency report (markdown) to this file")

// benchProfileDir, when set, receives CPU profiles of each setup's first round under each paced load:
// kube-apiserver's (<load>.<setup>.apiserver.pprof) and this process's, which serves the webhooks
// (<load>.<setup>.webhook.pprof).
// They show where each side's share of admission goes.
var benchProfileDir = flag.String("cpuprofiles", "", "write CPU profiles of kube-apiserver and the webhook server for each setup's first paced round into this directory")

const (
	benchClients    = 100
	benchPerClient  = 10 // creates per client per round
	benchRounds     = 6  // each round runs every setup once, in turn
	benchNamespaces = 10
	benchPods       = 20 // per namespace
	benchPolicies   = 10 // stored beforehand, per namespace
	// benchInterval is how often each client creates a policy in the paced load: 100 clients at
	// one request a second each is 100 requests/s, under what this machine sustains with the
	// webhooks, yet enough to keep its 2 CPUs about half busy.
	benchInterval = time.Second
	// lightInterval halves that rate, to show how much of what admission adds at p99 is queueing
	// for the shared CPUs rather than admission's own work.
	lightInterval = 2 * time.Second
)

// load is how the clients send their requests.
type load struct {
	name string
	// interval between one client's requests; 0 sends the next as soon as the last returned (a
	// closed loop that saturates the machine).
	interval time.Duration
}

var benchLoads = []load{{"paced", benchInterval}, {"light", lightInterval}, {"saturated", 0}}

// perSecond is the request rate of a paced load; 0 for the saturated one.
func (l load) perSecond() int {
	if l.interval == 0 {
		return 0
	}
	return benchClients * int(time.Second) / int(l.interval)
}

// benchLoadNames picks loads from benchLoads by name, for a quicker run while investigating.
var benchLoadNames = flag.String("loads", "paced,light,saturated", "comma-separated loads to run: paced, light, saturated")

// benchSetupNames picks the setups by short name (bench_setup_test.go's allSetups) instead of the
// default set, for a comparison of a few; the report is written only for the default set.
var benchSetupNames = flag.String("setups", "", "comma-separated setups to run instead of the default set: installed, fallback, validating, empty, baseline, generic")

// BenchmarkWebhookLatency measures what Palisade's admission adds to creating a policy through the
// real API server: 100 clients, each on its own connection, create policies concurrently, in rounds
// that cycle through the setups (bench_setup_test.go: as installed, the fallback and the diagnostic
// ones, and nothing at all: the baseline), in the same run; each round's policies are deleted after
// it, so every round finds the same store. The clients run in a process of their own (loadgen), as
// the webhook server runs in its own in a cluster. It reports percentiles of the whole
// request as the clients see it, of the webhook handlers themselves, and the CPU every process spends
// per request.
//
//	go test ./test/integration/webhook -run '^$' -bench WebhookLatency -benchtime 1x -timeout 60m \
//	    -bench-report ../../../docs/benchmarks-webhook.md
func BenchmarkWebhookLatency(b *testing.B) {
	logf.SetLogger(logr.Discard())
	if *benchSetupNames != "" {
		setups = nil
		for _, n := range strings.Split(*benchSetupNames, ",") {
			su, ok := allSetups[n]
			if !ok {
				b.Fatalf("-setups: unknown setup %q", n)
			}
			setups = append(setups, su)
		}
		if *benchReport != "" {
			b.Fatal("-bench-report needs the default set of setups")
		}
	}
	dir := b.TempDir()
	loadgen := filepath.Join(dir, "loadgen")
	build := exec.Command("go", "build", "-o", loadgen, "./test/integration/webhook/loadgen")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("building loadgen: %v\n%s", err, out)
	}
	e, err := startEnvironment()
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		if err := e.stop(); err != nil {
			b.Error(err)
		}
	}()
	kubeconfig, err := e.kubeconfig(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := seedBenchCluster(e); err != nil {
		b.Fatal(err)
	}
	gen := func(tag string, perClient int, interval time.Duration) ([]time.Duration, error) {
		return runLoadgen(loadgen, kubeconfig, tag, perClient, interval)
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		// Warm up the API server's webhook client, the caches and the selector cache.
		if _, err := gen(fmt.Sprintf("w%d", n), 2, 0); err != nil {
			b.Fatal(err)
		}
		e.server.take()
		var results []loadResult
		for _, l := range benchLoads {
			if !slices.Contains(strings.Split(*benchLoadNames, ","), l.name) {
				continue
			}
			res, err := runLoad(e, gen, l, fmt.Sprintf("%s%d", l.name, n))
			if err != nil {
				b.Fatal(err)
			}
			results = append(results, res)
			for _, su := range setups {
				a := res.arms[su.name]
				b.Logf("%s load, %s: p50 %s ms, p99 %s ms, median round p99 %s ms; CPU per request: API server %s ms, webhook server %s ms",
					l.name, su.name, ms(a.latency.p50), ms(a.latency.p99), ms(median(a.roundP99)), ms(a.cpu.apiserver), ms(a.cpu.self))
			}
			added := res.arms[installed.name].latency.p99 - res.arms[baseline.name].latency.p99
			b.ReportMetric(float64(added.Microseconds())/1000, "p99-ms-added-"+l.name)
		}
		if *benchReport != "" {
			if err := os.WriteFile(*benchReport, []byte(markdown(results)), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// runLoadgen runs one round of the load in the loadgen process and reads back its latencies.
func runLoadgen(bin, kubeconfig, tag string, perClient int, interval time.Duration) ([]time.Duration, error) {
	cmd := exec.Command(bin, "-kubeconfig", kubeconfig, "-clients", strconv.Itoa(benchClients),
		"-per-client", strconv.Itoa(perClient), "-interval", interval.String(),
		"-namespaces", strconv.Itoa(benchNamespaces), "-tag", tag)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("loadgen %s: %w: %s", tag, err, stderr.String())
	}
	var lats []time.Duration
	for _, f := range strings.Fields(string(out)) {
		us, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("loadgen %s printed %q: %w", tag, f, err)
		}
		lats = append(lats, time.Duration(us)*time.Microsecond)
	}
	if len(lats) != benchClients*perClient {
		return nil, fmt.Errorf("loadgen %s: %d latencies, want %d", tag, len(lats), benchClients*perClient)
	}
	return lats, nil
}

// runLoad runs benchRounds rounds of one load per setup, interleaved (every setup once, in turn,
// then again) so that all see the same machine and the same store.
func runLoad(e *environment, gen func(string, int, time.Duration) ([]time.Duration, error), l load, tag string) (loadResult, error) {
	lat := map[string][]time.Duration{}
	// roundP99 is each round's p99 per setup: how far rounds of the same setup disagree says how
	// much of a difference between setups is noise.
	roundP99 := map[string][]time.Duration{}
	cpu := map[string]cpuTimes{}
	handlers := map[string]map[string][]time.Duration{}
	handshakes := map[string]int64{}
	var stolen steal
	for r := 0; r < benchRounds; r++ {
		for i, su := range setups {
			if err := e.use(su.admission); err != nil {
				return loadResult{}, err
			}
			before, err := readCPU()
			if err != nil {
				return loadResult{}, err
			}
			var profiled chan error
			if *benchProfileDir != "" && r == 0 && l.interval > 0 {
				profiled = make(chan error, 1)
				// The round lasts benchPerClient intervals; profile all but its ramp-up and tail.
				go func() { profiled <- profile(e, l.name+"."+su.name, time.Duration(benchPerClient-2)*l.interval) }()
			}
			shook := e.server.handshakes.Load()
			stealBefore, err := readSteal()
			if err != nil {
				return loadResult{}, err
			}
			e.server.recording.Store(true)
			got, err := gen(fmt.Sprintf("%s-r%d-%d", tag, r, i), benchPerClient, l.interval)
			e.server.recording.Store(false)
			stealAfter, serr := readSteal()
			if serr != nil {
				return loadResult{}, serr
			}
			stolen = stolen.add(stealAfter.sub(stealBefore))
			handshakes[su.name] += e.server.handshakes.Load() - shook
			if err != nil {
				return loadResult{}, err
			}
			if profiled != nil {
				if err := <-profiled; err != nil {
					return loadResult{}, err
				}
			}
			after, err := readCPU()
			if err != nil {
				return loadResult{}, err
			}
			if err := deleteRound(e); err != nil {
				return loadResult{}, err
			}
			lat[su.name] = append(lat[su.name], got...)
			roundP99[su.name] = append(roundP99[su.name], statsOf(got).p99)
			cpu[su.name] = cpu[su.name].add(after.sub(before))
			calls := e.server.take()
			if !su.webhooks() && len(calls) > 0 {
				return loadResult{}, fmt.Errorf("%s, round %d, reached the webhooks: %v", su.name, r, keys(calls))
			}
			if handlers[su.name] == nil {
				handlers[su.name] = map[string][]time.Duration{}
			}
			for path, d := range calls {
				handlers[su.name][path] = append(handlers[su.name][path], d...)
			}
		}
	}
	if err := e.use(asInstalled); err != nil {
		return loadResult{}, err
	}
	res := loadResult{load: l, arms: map[string]arm{}, stolen: stolen}
	for _, su := range setups {
		a := arm{latency: statsOf(lat[su.name]), roundP99: roundP99[su.name], cpu: cpu[su.name].per(len(lat[su.name])), handlers: map[string]stats{}, handshakes: handshakes[su.name]}
		for p, d := range handlers[su.name] {
			a.handlers[p] = statsOf(d)
		}
		res.arms[su.name] = a
	}
	return res, nil
}

// profile writes CPU profiles over d (starting at once) of kube-apiserver, through its own
// /debug/pprof as the test's admin, and of this process, to <benchProfileDir>/<name>.*.pprof.
func profile(e *environment, name string, d time.Duration) error {
	if err := os.MkdirAll(*benchProfileDir, 0o755); err != nil {
		return fmt.Errorf("writing CPU profiles: %w", err)
	}
	base := filepath.Join(*benchProfileDir, strings.NewReplacer(" ", "-", "(", "", ")", "").Replace(name))
	var self bytes.Buffer
	if err := pprof.StartCPUProfile(&self); err != nil {
		return fmt.Errorf("profiling the webhook server: %w", err)
	}
	apiserver, err := apiserverProfile(e, d)
	pprof.StopCPUProfile()
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".apiserver.pprof", apiserver, 0o644); err != nil {
		return fmt.Errorf("writing the kube-apiserver profile: %w", err)
	}
	if err := os.WriteFile(base+".webhook.pprof", self.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing the webhook server profile: %w", err)
	}
	return nil
}

// apiserverProfile returns a CPU profile of kube-apiserver over d.
func apiserverProfile(e *environment, d time.Duration) ([]byte, error) {
	hc, err := rest.HTTPClientFor(e.cfg)
	if err != nil {
		return nil, fmt.Errorf("profiling kube-apiserver: %w", err)
	}
	url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", strings.TrimSuffix(e.cfg.Host, "/"), int(d.Seconds()))
	resp, err := hc.Get(url)
	if err != nil {
		return nil, fmt.Errorf("profiling kube-apiserver: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the kube-apiserver profile: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("profiling kube-apiserver: %s: %s", resp.Status, body)
	}
	return body, nil
}

// deleteRound deletes the policies a round created, so that every round finds the store as seeded,
// and waits until the webhook server's informers have seen the deletions too.
func deleteRound(e *environment) error {
	ctx := context.Background()
	for i := range benchNamespaces {
		ns := benchload.Namespace(i, benchNamespaces)
		if err := e.client.DeleteAllOf(ctx, &v1alpha1.NetworkPolicy{}, client.InNamespace(ns), client.HasLabels{benchload.RoundLabel}); err != nil {
			return fmt.Errorf("deleting the round's policies in %s: %w", ns, err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		var cached v1alpha1.NetworkPolicyList
		if err := e.cache.List(ctx, &cached, client.HasLabels{benchload.RoundLabel}); err != nil {
			return fmt.Errorf("listing the round's policies from the cache: %w", err)
		}
		if len(cached.Items) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of the round's policies are still in the webhook server's cache", len(cached.Items))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// seedBenchCluster gives the cluster checks real work: namespaces with pods that declare the named
// ports the policies use, and policies already stored.
func seedBenchCluster(e *environment) error {
	ctx := context.Background()
	for i := range benchNamespaces {
		ns := benchload.Namespace(i, benchNamespaces)
		if err := e.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"team": fmt.Sprint(i % 3)}}}); err != nil {
			return err
		}
		for j := range benchPods {
			p := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("web-%d", j), Labels: map[string]string{"app": fmt.Sprintf("web-%d", j%5)}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app:1",
					Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}}}},
			}
			if err := e.client.Create(ctx, p); err != nil {
				return err
			}
		}
		for j := range benchPolicies {
			if err := e.client.Create(ctx, benchload.Policy(ns, fmt.Sprintf("seed-%d", j), float64(-1-j), j)); err != nil {
				return err
			}
		}
	}
	return nil
}
