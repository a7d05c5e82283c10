// Command palisade-lab builds a Kubernetes cluster on one machine (test/lab): a control plane,
// nodes and pods as network namespaces, and the objects of a manifest. `probe` measures the
// connectivity matrix with real packets and prints it as `kubectl palisade matrix -o json` does;
// `up` keeps a lab running for a demo; `cleanup` removes what a crashed run left behind.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := zap.New(zap.UseDevMode(false), zap.WriteTo(os.Stderr))
	log.SetLogger(logger)
	ctx = log.IntoContext(ctx, logger)
	cmd := newRootCommand()
	if err := cmd.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "palisade-lab:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
