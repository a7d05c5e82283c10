// Command palisade-lab builds a Kubernetes cluster on one machine (test/lab): a control plane,
// nodes and pods as network namespaces, and the objects of a manifest. `probe` measures the
// connectivity matrix with real packets and prints it as `kubectl palisade matrix -o json` does;
// `up` keeps a lab running; `demo` (make demo) installs Palisade into a lab and shows policies
// rolling out (test/lab/demo); `cleanup` removes what a crashed run left behind.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/palisade-dev/palisade/test/lab/chartrun"
	"github.com/palisade-dev/palisade/test/lab/labcmd"
)

func main() {
	// `palisade-lab demo` installs the Helm chart with this program as its post-renderer.
	chartrun.ServePostRenderer()
	// SIGINT and SIGTERM end the context: the running command tears its lab down and returns.
	// Further signals are still caught, so that a second Ctrl-C cannot interrupt the teardown;
	// `palisade-lab cleanup` is there for a run that was killed.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := zap.New(zap.WriteTo(os.Stderr))
	log.SetLogger(logger)
	ctx = log.IntoContext(ctx, logger)
	err := labcmd.NewRootCommand().ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "palisade-lab:", err)
	}
	stop()
	os.Exit(labcmd.ExitCode(err))
}
