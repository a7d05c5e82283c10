package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// control is one rollout control: a verb, the annotation the operator honours for it, and where the
// operator records the request it acted on.
type control struct {
	verb, annotation, short, long string
	recorded                      func(*v1alpha1.RolloutControls) string
}

var controls = []control{
	{rollout.ControlPromote, rollout.AnnotationPromote, "Move a policy's rollout one phase on now",
		"moves the rollout one phase on now (Audit → Staged → Enforced; straight to Enforced when Immediate),\nwithout waiting for its window or evidence; it also releases a generation held after a step back.\nAn invalid candidate is never promoted.",
		func(c *v1alpha1.RolloutControls) string { return c.Promote }},
	{rollout.ControlPause, rollout.AnnotationPause, "Hold a policy's rollout where it is",
		"holds the rollout where it is: nothing is promoted until resume. A step back still happens.",
		func(c *v1alpha1.RolloutControls) string { return c.Pause }},
	{rollout.ControlResume, rollout.AnnotationResume, "End a pause request",
		"ends a pause request (it does not override spec.rollout.paused).",
		func(c *v1alpha1.RolloutControls) string { return c.Resume }},
	{rollout.ControlRollback, rollout.AnnotationRollback, "Send a policy's candidate back to Audit now",
		"sends the candidate back to Audit at once and holds it there (Degraded, reason RolledBack); an\nenforced candidate hands enforcement back to the previous generation.",
		func(c *v1alpha1.RolloutControls) string { return c.Rollback }},
}

// controlJSON is a control request in -o json|yaml.
type controlJSON struct {
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name"`
	Control    string `json:"control"`
	Annotation string `json:"annotation"`
	Token      string `json:"token"`
	// Recorded is set with --wait once the operator has recorded the request in status.controls.
	Recorded bool `json:"recorded"`
}

type controlOptions struct {
	control control
	cluster *clusterOptions
	output  string
	wait    bool
	timeout time.Duration
}

func newControlCommands(streams IOStreams, deps ClusterDeps) []*cobra.Command {
	var out []*cobra.Command
	for _, k := range controls {
		out = append(out, newControlCommand(streams, deps, k))
	}
	return out
}

func newControlCommand(streams IOStreams, deps ClusterDeps, k control) *cobra.Command {
	o := &controlOptions{control: k}
	cmd := &cobra.Command{
		Use:   k.verb + " NAME | KIND/NAME",
		Short: k.short,
		Long: k.verb + " " + k.long + `

It sets the annotation ` + k.annotation + ` to the time of the request; the rollout operator acts on
each new value once and records it in status.controls. The spec is never written, so Argo CD and
Flux see no drift. With --wait the command returns once the operator has recorded the request.`,
		Example: "  kubectl palisade " + k.verb + " -n shop web\n  kubectl palisade " + k.verb + " gnp/default-deny --wait",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			return o.run(cmd.Context(), streams, args[0])
		},
	}
	o.cluster = newClusterOptions(cmd, deps)
	outputFlag(cmd, &o.output, outputText, outputJSON, outputYAML)
	cmd.Flags().BoolVar(&o.wait, "wait", false, "wait until the operator has recorded the request")
	cmd.Flags().DurationVar(&o.timeout, "timeout", time.Minute, "how long --wait waits")
	return cmd
}

func (o *controlOptions) run(ctx context.Context, streams IOStreams, arg string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, ns, err := o.cluster.client()
	if err != nil {
		return clusterFailure(streams.ErrOut, err)
	}
	ref, err := parsePolicyRef(arg, ns)
	if err != nil {
		return err
	}
	token := o.cluster.deps.clock().Now().UTC().Format(rollout.RequestToken)
	if err := setAnnotation(ctx, c, ref, o.control.annotation, token); err != nil {
		return clusterFailure(streams.ErrOut, err)
	}
	res := controlJSON{Kind: ref.kind(), Namespace: ref.namespace, Name: ref.name, Control: o.control.verb,
		Annotation: o.control.annotation, Token: token}
	if o.wait {
		wctx, cancel := context.WithTimeout(ctx, o.timeout)
		defer cancel()
		err := follow(wctx, c, ref, func(p policy) bool {
			return p.status.Controls != nil && o.control.recorded(p.status.Controls) >= token
		})
		if err != nil {
			fmt.Fprintf(streams.ErrOut, "error: %s: %s requested, but not recorded by the operator: %s\n", ref, o.control.verb, escapeControl(err.Error()))
			return &ExitError{Code: ExitInvalid}
		}
		res.Recorded = true
	}
	if o.output != outputText {
		return writeStructured(streams.Out, o.output, res)
	}
	state := "requested"
	if res.Recorded {
		state = "recorded by the operator"
	}
	fmt.Fprintf(streams.Out, "%s: %s %s (%s=%s)\n", textRef(ref), o.control.verb, state, o.control.annotation, token)
	return nil
}

// setAnnotation writes one annotation with a JSON merge patch of metadata alone: the spec, and so
// the generation, never change.
func setAnnotation(ctx context.Context, c client.Client, ref policyRef, key, value string) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{key: value}}})
	if err != nil {
		return fmt.Errorf("building the patch: %w", err)
	}
	obj := ref.newObject()
	obj.SetNamespace(ref.namespace)
	obj.SetName(ref.name)
	if err := c.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return fmt.Errorf("annotating %s: %w", ref, err)
	}
	return nil
}

// textRef names a policy for text output, every part quoted when needed.
func textRef(r policyRef) string {
	if r.global {
		return "globalnetworkpolicy/" + quote(r.name)
	}
	return "networkpolicy/" + quote(r.namespace) + "/" + quote(r.name)
}
