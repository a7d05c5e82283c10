package webhookintegration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/palisade-dev/palisade/test/assets"
)

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// stats are percentiles of a sorted sample.
type stats struct {
	n                   int
	p50, p90, p99, mean time.Duration
	max                 time.Duration
}

func statsOf(d []time.Duration) stats {
	slices.Sort(d)
	if len(d) == 0 {
		return stats{}
	}
	var sum time.Duration
	for _, x := range d {
		sum += x
	}
	at := func(q float64) time.Duration { return d[min(len(d)-1, int(q*float64(len(d))))] }
	return stats{n: len(d), p50: at(0.50), p90: at(0.90), p99: at(0.99), mean: sum / time.Duration(len(d)), max: d[len(d)-1]}
}

type loadResult struct {
	load load
	arms map[string]arm // by setup name
	// stolen is the machine's CPU time while the clients ran, and how much of it the hypervisor
	// gave to other guests.
	stolen steal
}

// roundAdded is the p99 that su added in each round: its p99 minus the baseline's in the same round.
func (r loadResult) roundAdded(su setup) []time.Duration {
	base := r.arms[baseline.name].roundP99
	var out []time.Duration
	for i, p := range r.arms[su.name].roundP99 {
		if i < len(base) {
			out = append(out, p-base[i])
		}
	}
	return out
}

// median of d, which it does not reorder; 0 when d is empty.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(d))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// arm is what one setup measured under one load.
type arm struct {
	latency stats
	// roundP99 is the p99 of each round on its own, in order.
	roundP99 []time.Duration
	cpu      cpuTimes
	handlers map[string]stats // by webhook path
	// handshakes is how many TLS connections the API server opened to the webhook server.
	handshakes int64
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }

func ratio(a, b time.Duration) string {
	if b == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func machine() string {
	cpu := "unknown CPU"
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	etcd := "etcd"
	if dir, err := assets.Dir(); err == nil {
		if out, err := exec.Command(filepath.Join(dir, "etcd"), "--version").Output(); err == nil {
			etcd = strings.TrimPrefix(strings.SplitN(string(out), "\n", 2)[0], "etcd Version: ")
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s, kube-apiserver %s, etcd %s", runtime.NumCPU(), cpu, runtime.Version(), assets.KubeVersion, etcd)
}

func markdown(results []loadResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Admission latency\n\n")
	fmt.Fprintf(&b, "Measured by `BenchmarkWebhookLatency` (test/integration/webhook/bench_test.go) on %s: %s. "+
		"The API server, etcd, the webhook server and the clients all share this machine.\n\n",
		time.Now().UTC().Format("2006-01-02"), machine())
	fmt.Fprintf(&b, "%d clients, each on its own connection, create `NetworkPolicy` objects (%d per client per round) in %d namespaces holding %d pods and %d stored policies each. "+
		"The policies leave `types`, `tier` and `rollout` out, as most manifests do, so every default is filled in. "+
		"The policies a round creates are deleted after it (outside the measurement), so every round starts from the same store. "+
		"Rounds cycle through five setups, in the same run:\n\n",
		benchClients, benchPerClient, benchNamespaces, benchPods, benchPolicies)
	fmt.Fprintf(&b, "- **%s**: config/default on Kubernetes 1.36 or later. The CRD schema (tier, rollout) and the MutatingAdmissionPolicy of config/admissionpolicy (types) fill the defaults inside the API server, "+
		"no mutating webhook is registered (config/components/apiserver-defaulting), and one webhook is called: validation, with every cluster check (selector, named ports, order ties, DNS).\n", installed.name)
	fmt.Fprintf(&b, "- **%s**: config/default without that component, for clusters without the admission policy; the mutating webhook fills `types`, so both webhooks are called.\n", fallback.name)
	fmt.Fprintf(&b, "- **%s**: only the validating webhook, no defaulting of `types` at all. Not a way to install Palisade; it splits what validation costs from what defaulting costs.\n", validationOnly.name)
	fmt.Fprintf(&b, "- **%s**: not Palisade's: a webhook registered exactly as Palisade's validating webhook is (same rules, selectors, timeout and failure policy, same server) that decodes the review's UID and admits. "+
		"It measures what any validating webhook call costs this API server on this machine, the floor under what Palisade's can add.\n", emptyWebhook.name)
	fmt.Fprintf(&b, "- **%s**: no webhook configuration and no admission policy (the CRD schema defaults stay: they are part of the CRD).\n\n", baseline.name)
	fmt.Fprintf(&b, "Three loads: **paced**, each client sending one request every %s (%d requests/s in all); **light**, one every %s (%d requests/s); "+
		"and **saturated**, each client sending its next request as soon as the last returns. The clients of the paced loads start their requests evenly spread over the interval.\n\n",
		benchInterval, load{interval: benchInterval}.perSecond(), lightInterval, load{interval: lightInterval}.perSecond())
	for _, r := range results {
		base := r.arms[baseline.name]
		fmt.Fprintf(&b, "## %s load\n\n", strings.ToUpper(r.load.name[:1])+r.load.name[1:])
		b.WriteString("Whole request, client side (create sent → response read):\n\n")
		b.WriteString("| | requests | p50 ms | p90 ms | p99 ms | mean ms | max ms |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, su := range setups {
			s := r.arms[su.name].latency
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %s |\n", su.name, s.n, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.mean), ms(s.max))
		}
		for _, su := range setups {
			if su == baseline {
				continue
			}
			s := r.arms[su.name].latency
			fmt.Fprintf(&b, "| **added: %s** | | %s (%s) | %s (%s) | **%s (%s)** | %s (%s) | |\n", su.name,
				ms(s.p50-base.latency.p50), ratio(s.p50, base.latency.p50),
				ms(s.p90-base.latency.p90), ratio(s.p90, base.latency.p90),
				ms(s.p99-base.latency.p99), ratio(s.p99, base.latency.p99),
				ms(s.mean-base.latency.mean), ratio(s.mean, base.latency.mean))
		}
		b.WriteString("\np99 added in each round on its own (each round's p99 minus the baseline's in the same round), which shows how far the pooled numbers above can move by chance:\n\n")
		b.WriteString("The median of the rounds is less moved by one round that went badly, in either setup, than the pooled p99 is.\n\n")
		b.WriteString("| | per round, ms | median of the rounds, ms |\n|---|---|---:|\n")
		for _, su := range setups {
			if su == baseline {
				continue
			}
			added := r.roundAdded(su)
			per := make([]string, len(added))
			for i, d := range added {
				per[i] = ms(d)
			}
			fmt.Fprintf(&b, "| %s | %s | %s |\n", su.name, strings.Join(per, ", "), ms(median(added)))
		}
		b.WriteString("\nWebhook handlers, server side (request body read → response written, per call; a path missing from a setup was not called):\n\n")
		b.WriteString("| setup | handler | calls | p50 ms | p90 ms | p99 ms | mean ms | max ms |\n|---|---|---:|---:|---:|---:|---:|---:|\n")
		for _, su := range setups {
			for _, p := range keys(r.arms[su.name].handlers) {
				s := r.arms[su.name].handlers[p]
				fmt.Fprintf(&b, "| %s | `%s` | %d | %s | %s | %s | %s | %s |\n", su.name, p, s.n, ms(s.p50), ms(s.p90), ms(s.p99), ms(s.mean), ms(s.max))
			}
		}
		b.WriteString("\nConnections the API server opened to the webhook server (TLS handshakes) while the clients ran:\n\n")
		b.WriteString("| setup | webhook calls | TLS handshakes |\n|---|---:|---:|\n")
		for _, su := range setups {
			if !su.webhooks() {
				continue
			}
			var calls int
			for _, s := range r.arms[su.name].handlers {
				calls += s.n
			}
			fmt.Fprintf(&b, "| %s | %d | %d |\n", su.name, calls, r.arms[su.name].handshakes)
		}
		b.WriteString("\nCPU time per request (user + system)")
		if r.load.perSecond() > 0 {
			fmt.Fprintf(&b, "; busy is the share of the machine's %d CPUs that this costs at %d requests/s", runtime.NumCPU(), r.load.perSecond())
		}
		b.WriteString(":\n\n")
		b.WriteString("| | kube-apiserver ms | etcd ms | webhook server ms | clients ms | total ms | busy |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, su := range setups {
			c := r.arms[su.name].cpu
			total := c.apiserver + c.etcd + c.self + c.clients
			busy := "n/a"
			if r.load.perSecond() > 0 {
				busy = fmt.Sprintf("%.0f%%", 100*total.Seconds()*float64(r.load.perSecond())/float64(runtime.NumCPU()))
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", su.name, ms(c.apiserver), ms(c.etcd), ms(c.self), ms(c.clients), ms(total), busy)
		}
		if r.stolen.total > 0 {
			fmt.Fprintf(&b, "\nWhile the clients ran, the hypervisor ran something else on this machine's CPUs (steal) for %.1f%% of their time.\n",
				100*float64(r.stolen.steal)/float64(r.stolen.total))
		}
		b.WriteString("\n")
	}
	b.WriteString("## Reading the numbers\n\n")
	for _, r := range results {
		added := r.arms[installed.name].latency.p99 - r.arms[baseline.name].latency.p99
		verdict := "meets"
		if added >= 5*time.Millisecond {
			verdict = "misses"
		}
		fmt.Fprintf(&b, "- %s: Palisade admission as installed adds %s ms at p99 of the whole request (the median of the rounds: %s ms), so this run %s the 5 ms target.\n",
			r.load.name, ms(added), ms(median(r.roundAdded(installed))), verdict)
	}
	for _, r := range results {
		if r.load.interval == 0 {
			continue
		}
		in, val, base := r.arms[installed.name], r.arms[validationOnly.name], r.arms[baseline.name]
		fmt.Fprintf(&b, "- %s, where the cost goes: the validating webhook alone adds %s ms at p99 (API server +%s ms CPU per request, webhook server +%s ms); "+
			"defaulting `types` in the admission policy on top of it costs the API server another %s ms of CPU per request, and the p99 added grows to %s ms. "+
			"Filling `types` through the mutating webhook instead (no admission policy) costs more: %s ms added at p99.\n",
			r.load.name, ms(val.latency.p99-base.latency.p99), ms(val.cpu.apiserver-base.cpu.apiserver), ms(val.cpu.self-base.cpu.self),
			ms(in.cpu.apiserver-val.cpu.apiserver), ms(in.latency.p99-base.latency.p99),
			ms(r.arms[fallback.name].latency.p99-base.latency.p99))
	}
	for _, r := range results {
		if r.load.interval == 0 {
			continue
		}
		empty, val, base := r.arms[emptyWebhook.name], r.arms[validationOnly.name], r.arms[baseline.name]
		fmt.Fprintf(&b, "- %s, the floor: a webhook that does nothing adds %s ms at p99 (median of the rounds %s ms; API server +%s ms CPU per request). "+
			"Palisade's validating webhook, every check included, adds %s ms on top of that at p99.\n",
			r.load.name, ms(empty.latency.p99-base.latency.p99), ms(median(r.roundAdded(emptyWebhook))), ms(empty.cpu.apiserver-base.cpu.apiserver),
			ms(val.latency.p99-empty.latency.p99))
	}
	b.WriteString("- The paced loads measure latency; the light one halves the rate, so the machine is less busy. Where it adds about as much at p99 as the paced load, what admission adds is its own work and the tail of it, not waiting for the CPUs that the API server, etcd, the clients and the webhook server share. " +
		"In the saturated load every request queues behind the 99 others for the machine's CPUs, so latency is the CPU each request costs across all processes times the queue; " +
		"the webhooks' share of it is the extra CPU per request in the table above (a TLS call with a JSON AdmissionReview per webhook on the API server's side, decoding, validating and the cluster checks on ours), " +
		"and what it adds to latency is that cost multiplied by the queue length. That load measures capacity, not the latency a user sees.\n")
	b.WriteString("- In the baseline the webhook server still spends CPU: its informers receive every created policy, as they must to keep the cluster checks current.\n")
	b.WriteString("- On a 2-CPU machine shared with other work, percentiles move between runs: compare runs, not single numbers.\n\n")
	b.WriteString("Reproduce:\n\n```\ngo test ./test/integration/webhook -run '^$' -bench WebhookLatency -benchtime 1x -timeout 60m \\\n    -bench-report ../../../docs/benchmarks-webhook.md\n```\n")
	return b.String()
}
