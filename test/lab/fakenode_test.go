package lab_test

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// fakeNodeArg, as the first argument, makes the test binary run as a node process (see
// TestMain): a stand-in for the enforcer, which does not exist yet, that proves what the lab
// promises a node process: it runs in the node's namespace, reaches the API server through the
// relay with the node's kubeconfig, and is polled on /readyz from inside the namespace.
const fakeNodeArg = "lab-fake-node"

// fakeNode lists the pods of its node through the API server, then answers /readyz with 200 (503
// until then), and exits on SIGTERM.
func fakeNode(args []string) int {
	fs := flag.NewFlagSet(fakeNodeArg, flag.ContinueOnError)
	kubeconfig := fs.String("kubeconfig", "", "")
	node := fs.String("node", "", "")
	listen := fs.String("listen", "127.0.0.1:9402", "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		fmt.Println("reading the kubeconfig:", err)
		return 1
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		fmt.Println("creating the client:", err)
		return 1
	}
	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "pods not listed yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Addr: *listen, Handler: mux, ReadHeaderTimeout: time.Second}
	go func() { _ = srv.ListenAndServe() }()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	for !ready.Load() {
		pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{FieldSelector: "spec.nodeName=" + *node})
		if err == nil && len(pods.Items) > 0 {
			fmt.Printf("listed %d pods on node %s through %s\n", len(pods.Items), *node, cfg.Host)
			ready.Store(true)
			break
		}
		fmt.Println("listing pods:", err)
		select {
		case <-ctx.Done():
			return 1
		case <-time.After(200 * time.Millisecond):
		}
	}
	<-ctx.Done()
	fmt.Println("stopping on signal")
	shutdown, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = srv.Shutdown(shutdown)
	return 0
}
