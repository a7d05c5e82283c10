// Command loadgen runs the clients of BenchmarkWebhookLatency in a process of their own: it creates
// Palisade NetworkPolicies from many concurrent clients and prints each request's latency in
// microseconds, one per line. Connections are opened and warmed before the timed requests.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
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
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return err
	}
	cs, err := benchload.Clients(cfg, scheme, n)
	if err != nil {
		return err
	}
	// Warm every client outside the timed requests: the Get opens its connection, and the
	// mapping is what its lazy REST mapper would otherwise discover inside the first timed create
	// (an extra GET that a kubectl with a discovery cache does not make).
	policyKind := v1alpha1.GroupVersion.WithKind("NetworkPolicy")
	for i, c := range cs {
		ns := &corev1.Namespace{}
		if err := c.Get(context.Background(), client.ObjectKey{Name: benchload.Namespace(i, namespaces)}, ns); err != nil {
			return fmt.Errorf("warming client %d: %w", i, err)
		}
		if _, err := c.RESTMapper().RESTMapping(policyKind.GroupKind(), policyKind.Version); err != nil {
			return fmt.Errorf("warming client %d: mapping %s: %w", i, policyKind, err)
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
