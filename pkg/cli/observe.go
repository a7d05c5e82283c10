package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

type observeOptions struct {
	kubeconfig, context, namespace string
	output                         string
	top                            int
	timeout                        time.Duration
}

func newObserveCommand(streams IOStreams) *cobra.Command {
	var o observeOptions
	cmd := &cobra.Command{
		Use:   "observe [-n NAMESPACE] [POLICY]",
		Short: "Show what policies under rollout would deny, summed over the nodes' reports",
		Long: `observe reads the NodeReports the enforcers write (one per node) through the API server and sums
them per policy: the candidate generation's would-deny (denied where it is not enforced yet), denied
(on the canary, or once enforced) and allowed new connections in the current evidence window, and the
most frequent flows it would deny, with the rule that denies them ("default deny" when no rule
matched: add a rule that allows the flow).

Only nodes counting the same generation, phase and window are summed; the others are named. With
-n, only the NetworkPolicies of that namespace are shown; POLICY selects by name.`,
		Example: `  kubectl palisade observe
  kubectl palisade observe -n shop web
  kubectl palisade observe -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			if o.top < 0 {
				return fmt.Errorf("--top %d: want 0 or more", o.top)
			}
			f := observeFilter{namespace: o.namespace}
			if len(args) == 1 {
				f.name = args[0]
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			reports, err := o.list(ctx)
			if err != nil {
				return err
			}
			obs := summarize(reports, f, o.top)
			if f.name != "" && len(obs.Policies) == 0 {
				fmt.Fprintf(streams.ErrOut, "no node reports a policy named %q%s\n", f.name, inNamespace(f.namespace))
				return &ExitError{Code: ExitInvalid}
			}
			if o.output != outputText {
				return writeStructured(streams.Out, o.output, obs)
			}
			return writeObservation(streams.Out, obs)
		},
	}
	cmd.Flags().StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
	cmd.Flags().StringVar(&o.context, "context", "", "kubeconfig context to use")
	cmd.Flags().StringVarP(&o.namespace, "namespace", "n", "", "show only the NetworkPolicies of this namespace")
	cmd.Flags().IntVar(&o.top, "top", 5, "flows shown per policy")
	cmd.Flags().DurationVar(&o.timeout, "request-timeout", 30*time.Second, "give up on the API server after this long")
	outputFlag(cmd, &o.output, outputText, outputJSON, outputYAML)
	return cmd
}

func inNamespace(ns string) string {
	if ns == "" {
		return ""
	}
	return " in namespace " + ns
}

// list reads every NodeReport through the API server.
func (o *observeOptions) list(ctx context.Context) ([]v1alpha1.NodeReport, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("loading the kubeconfig: %w", err)
	}
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("registering the Palisade types: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("creating the Kubernetes client: %w", err)
	}
	var list v1alpha1.NodeReportList
	if err := c.List(ctx, &list); err != nil {
		return nil, fmt.Errorf("listing NodeReports: %w", err)
	}
	return list.Items, nil
}
