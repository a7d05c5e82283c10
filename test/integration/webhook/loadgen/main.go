// Command loadgen runs the clients of BenchmarkWebhookLatency in a process of their own: it creates
// Palisade NetworkPolicies from many concurrent clients and prints each request's latency in
// microseconds, one per line. Connections are opened and warmed before the timed requests.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/palisade-dev/palisade/test/integration/webhook/benchload"
)

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the API server")
	clients := flag.Int("clients", 100, "concurrent clients, each on its own connection")
	perClient := flag.Int("per-client", 10, "policies each client creates")
	interval := flag.Duration("interval", 0, "time between one client's requests; 0 sends back to back")
	namespaces := flag.Int("namespaces", 10, "namespaces bench-0 … bench-N-1 the clients write to")
	tag := flag.String("tag", "load", "prefix of the created policies' names")
	flag.Parse()
	if err := run(*kubeconfig, *clients, *perClient, *interval, *namespaces, *tag); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(kubeconfig string, n, perClient int, interval time.Duration, namespaces int, tag string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("loading kubeconfig %s: %w", kubeconfig, err)
	}
	cs, err := benchload.Clients(cfg, n)
	if err != nil {
		return err
	}
	// Open every client's connection outside the timed requests.
	for i, c := range cs {
		if err := c.Warm(benchload.Namespace(i, namespaces)); err != nil {
			return fmt.Errorf("warming client %d: %w", i, err)
		}
	}
	lats, err := benchload.Round(cs, namespaces, tag, perClient, interval)
	if err != nil {
		return err
	}
	w := os.Stdout
	for _, d := range lats {
		fmt.Fprintln(w, d.Microseconds())
	}
	return nil
}
