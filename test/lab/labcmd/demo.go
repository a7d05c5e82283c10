package labcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/test/lab/demo"
)

func newDemoCommand() *cobra.Command {
	var o demo.Options
	var verbose bool
	cmd := &cobra.Command{
		Use:   "demo [--bin-dir DIR] [--window 20s]",
		Short: "Install Palisade into a lab and show policies rolling out, with real packets",
		Long: `demo (what 'make demo' runs, as root) builds a lab from examples/three-tier's namespaces and pods on
two nodes, installs Palisade into it with its Helm chart (charts/palisade, helm from --bin-dir) and
runs the chart's pods from the built binaries (two palisade-controller replicas with admission
webhooks, leader election and the rollout operator; one palisade-enforcer per node namespace), and
tells the rollout story step by
step: a broken policy refused by admission; a policy with strategy Immediate enforced at once; a
Progressive one in Audit, with the traffic it would deny still flowing; its fix promoted through
Staged to Enforced once node reports cover its evidence windows. At each step it prints what kubectl
says and the connectivity matrix measured with real packets, and checks every claim it makes. It
removes everything on exit, Ctrl-C and failures included.

Exit status: 0 when every claim held, 1 when the lab failed or a claim was false, 2 for bad flags.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Window <= 0 {
				return usageError{fmt.Errorf("--window %v: want a positive duration, like 20s", o.Window)}
			}
			if o.ReportInterval <= 0 {
				return usageError{fmt.Errorf("--report-interval %v: want a positive duration, like 5s", o.ReportInterval)}
			}
			if o.PromotionTimeout < 0 {
				return usageError{fmt.Errorf("--promotion-timeout %v: want a positive duration", o.PromotionTimeout)}
			}
			if o.BinDir == "" {
				o.BinDir = defaultBinDir()
			}
			ctx := cmd.Context()
			if !verbose {
				// The story goes to stdout; the lab's own log would only interleave with it.
				ctx = log.IntoContext(ctx, logr.Discard())
			}
			o.Out = cmd.OutOrStdout()
			_, err := demo.Run(ctx, o)
			if err != nil && errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("interrupted; everything the demo created was removed: %w", err)
			}
			return err
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.BinDir, "bin-dir", "", "directory holding palisade-controller, palisade-enforcer, kubectl-palisade and helm; default: this program's directory")
	fs.StringVar(&o.RepoRoot, "repo", "", "the Palisade repository (examples/, charts/); default: the one holding the working directory")
	fs.DurationVar(&o.Window, "window", 20*time.Second, "the progressive policy's audit and staged minDuration (its evidence windows)")
	fs.DurationVar(&o.ReportInterval, "report-interval", demo.DefaultReportInterval, "the enforcers' and the controller's --report-interval: how often NodeReports are written")
	fs.DurationVar(&o.PromotionTimeout, "promotion-timeout", 0, "how long to wait for each promotion; default the window and four report intervals")
	fs.StringVar(&o.LogDir, "log-dir", "", "directory receiving the controller's and the enforcers' logs, kept after the demo; default: removed with the lab")
	fs.BoolVarP(&verbose, "verbose", "v", false, "also log what the lab does, to stderr")
	return cmd
}

// defaultBinDir is the directory of the running program: `make build` puts palisade-lab next to
// the binaries the demo runs.
func defaultBinDir() string {
	exe, err := os.Executable()
	if err != nil {
		return ""
	}
	return filepath.Dir(exe)
}
