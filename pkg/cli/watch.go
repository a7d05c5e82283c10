package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// transitionJSON is one line of `watch`: the rollout as first seen, then after each transition.
type transitionJSON struct {
	Kind               string                `json:"kind"`
	Namespace          string                `json:"namespace,omitempty"`
	Name               string                `json:"name"`
	Generation         int64                 `json:"generation"`
	From               v1alpha1.RolloutPhase `json:"from,omitempty"`
	To                 v1alpha1.RolloutPhase `json:"to,omitempty"`
	EnforcedGeneration int64                 `json:"enforcedGeneration"`
	PhaseSince         *metav1.Time          `json:"phaseSince,omitempty"`
	Reason             string                `json:"reason,omitempty"`
	Message            string                `json:"message,omitempty"`
}

// rolloutState is what a transition changes; watch prints a line when it does.
type rolloutState struct {
	observed, enforced int64
	phase              v1alpha1.RolloutPhase
	reason             string
	degraded           bool
}

func stateOf(p policy) rolloutState {
	s := rolloutState{observed: p.status.ObservedGeneration, enforced: p.status.EnforcedGeneration, phase: p.status.Phase}
	if c := meta.FindStatusCondition(p.status.Conditions, v1alpha1.ConditionProgressing); c != nil {
		s.reason = c.Reason
	}
	s.degraded = meta.IsStatusConditionTrue(p.status.Conditions, v1alpha1.ConditionDegraded)
	return s
}

// enforced reports whether the policy's current generation is enforced everywhere: watch is done.
func enforced(p policy) bool {
	st := p.status
	return st.ObservedGeneration == p.generation && st.Phase == v1alpha1.PhaseEnforced && st.EnforcedGeneration == p.generation
}

type watchOptions struct {
	cluster *clusterOptions
	output  string
	timeout time.Duration
}

func newWatchCommand(streams IOStreams, deps ClusterDeps) *cobra.Command {
	o := &watchOptions{}
	cmd := &cobra.Command{
		Use:   "watch NAME | KIND/NAME",
		Short: "Follow a policy's rollout live, one line per transition",
		Long: `watch follows one policy's rollout: it prints where the rollout stands, then one line for each
transition (a new generation, a promotion, a step back, a hold and its reason) as the operator
writes it. It returns when the policy's current generation is Enforced (exit 0), or after
--timeout (exit 1); 0 waits for ever.`,
		Example: `  kubectl palisade watch -n shop web
  kubectl palisade watch gnp/default-deny --timeout 1h -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			return o.run(cmd.Context(), streams, args[0])
		},
	}
	o.cluster = newClusterOptions(cmd, deps)
	outputFlag(cmd, &o.output, outputText, outputJSON, outputYAML)
	cmd.Flags().DurationVar(&o.timeout, "timeout", 0, "stop after this long (0: until Enforced)")
	return cmd
}

func (o *watchOptions) run(ctx context.Context, streams IOStreams, arg string) error {
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
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	var last *rolloutState
	var lastPhase v1alpha1.RolloutPhase
	var writeErr error
	err = follow(ctx, c, ref, func(p policy) bool {
		s := stateOf(p)
		if last == nil || s != *last {
			t := transitionOf(p, lastPhase)
			if last == nil {
				t.From = ""
			}
			if writeErr = o.write(streams.Out, t); writeErr != nil {
				return true
			}
			last, lastPhase = &s, p.status.Phase
		}
		return enforced(p)
	})
	switch {
	case writeErr != nil:
		return writeErr
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(streams.ErrOut, "%s: not Enforced after %s\n", textRef(ref), o.timeout)
		return &ExitError{Code: ExitInvalid}
	case errors.Is(err, errDeleted):
		fmt.Fprintf(streams.ErrOut, "%s: deleted\n", textRef(ref))
		return &ExitError{Code: ExitInvalid}
	}
	return clusterFailure(streams.ErrOut, err)
}

func transitionOf(p policy, from v1alpha1.RolloutPhase) transitionJSON {
	t := transitionJSON{Kind: p.ref.kind(), Namespace: p.ref.namespace, Name: p.ref.name, Generation: p.generation,
		From: from, To: p.status.Phase, EnforcedGeneration: p.status.EnforcedGeneration, PhaseSince: p.status.PhaseSince}
	if c := meta.FindStatusCondition(p.status.Conditions, v1alpha1.ConditionProgressing); c != nil {
		t.Reason, t.Message = c.Reason, c.Message
	}
	return t
}

// write prints one transition: a line of text, a line of JSON, or a YAML document.
func (o *watchOptions) write(w io.Writer, t transitionJSON) error {
	switch o.output {
	case outputJSON:
		b, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("rendering the transition as JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case outputYAML:
		b, err := yaml.Marshal(t)
		if err != nil {
			return fmt.Errorf("rendering the transition as YAML: %w", err)
		}
		_, err = fmt.Fprintf(w, "---\n%s", b)
		return err
	}
	ref := policyRef{global: t.Kind == string(v1alpha1.KindGlobalNetworkPolicy), namespace: t.Namespace, name: t.Name}
	phase := escapeControl(string(t.To))
	if t.To == "" {
		phase = "(no phase yet)"
	}
	if t.From != "" && t.From != t.To {
		phase = escapeControl(string(t.From)) + " -> " + phase
	}
	since := "-"
	if t.PhaseSince != nil {
		since = t.PhaseSince.UTC().Format(time.RFC3339)
	}
	_, err := fmt.Fprintf(w, "%s  %s  generation %d  %s  enforced %s  %s: %s\n", since, textRef(ref), t.Generation, phase,
		generationText(t.EnforcedGeneration), escapeControl(t.Reason), escapeControl(clip(t.Message)))
	return err
}

// rolloutCommands are status, watch and the four controls.
func rolloutCommands(streams IOStreams, deps ClusterDeps) []*cobra.Command {
	return append([]*cobra.Command{newStatusCommand(streams, deps), newWatchCommand(streams, deps)}, newControlCommands(streams, deps)...)
}
