package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// statusJSON is one policy's rollout in `status -o json|yaml`.
type statusJSON struct {
	Kind               string                `json:"kind"`
	Namespace          string                `json:"namespace,omitempty"`
	Name               string                `json:"name"`
	Generation         int64                 `json:"generation"`
	ObservedGeneration int64                 `json:"observedGeneration"`
	Phase              v1alpha1.RolloutPhase `json:"phase,omitempty"`
	PhaseSince         *metav1.Time          `json:"phaseSince,omitempty"`
	// InPhaseSeconds is how long the phase has lasted, by the CLI's clock.
	InPhaseSeconds             int64                     `json:"inPhaseSeconds,omitempty"`
	Progress                   progressJSON              `json:"progress"`
	EnforcedGeneration         int64                     `json:"enforcedGeneration"`
	PreviousEnforcedGeneration int64                     `json:"previousEnforcedGeneration,omitempty"`
	NodesProgrammed            int32                     `json:"nodesProgrammed"`
	NodesDesired               int32                     `json:"nodesDesired"`
	Conditions                 []metav1.Condition        `json:"conditions,omitempty"`
	Controls                   *v1alpha1.RolloutControls `json:"controls,omitempty"`
	Evidence                   *v1alpha1.Evidence        `json:"evidence,omitempty"`
}

type statusListJSON struct {
	Items []statusJSON `json:"items"`
}

type statusOptions struct {
	cluster       *clusterOptions
	output        string
	allNamespaces bool
}

func newStatusCommand(streams IOStreams, deps ClusterDeps) *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status [NAME | KIND/NAME]",
		Short: "Show where policies stand in their rollout",
		Long: `status shows where Palisade policies stand in their rollout (Audit, Staged, Enforced): how long
they have been in their phase, their progress toward the next phase (a bar on a terminal), the
nodes that programmed them, the enforced generation against the current one, and the flows the
candidate would deny with a rule that would allow each.

NAME is a NetworkPolicy in the namespace (-n, else the kubeconfig's); KIND/NAME names either kind
(networkpolicy/NAME or pnp/NAME, globalnetworkpolicy/NAME or gnp/NAME). Without NAME, every
NetworkPolicy of the namespace (-A: of every namespace) and every GlobalNetworkPolicy is listed.`,
		Example: `  kubectl palisade status -n shop web
  kubectl palisade status gnp/default-deny -o yaml
  kubectl palisade status -A`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			return o.run(cmd.Context(), streams, args)
		},
	}
	o.cluster = newClusterOptions(cmd, deps)
	outputFlag(cmd, &o.output, outputText, outputJSON, outputYAML)
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "list the NetworkPolicies of every namespace")
	return cmd
}

func (o *statusOptions) run(ctx context.Context, streams IOStreams, args []string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, ns, err := o.cluster.client()
	if err != nil {
		return clusterFailure(streams.ErrOut, err)
	}
	now := o.cluster.deps.clock().Now()
	var ps []policy
	if len(args) == 1 {
		ref, err := parsePolicyRef(args[0], ns)
		if err != nil {
			return err
		}
		p, err := getPolicy(ctx, c, ref)
		if err != nil {
			return clusterFailure(streams.ErrOut, err)
		}
		ps = []policy{p}
	} else if ps, err = listPolicies(ctx, c, ns, o.allNamespaces); err != nil {
		return clusterFailure(streams.ErrOut, err)
	}
	items := make([]statusJSON, len(ps))
	for i, p := range ps {
		items[i] = statusOf(p, now)
	}
	switch {
	case o.output != outputText && len(args) == 1:
		return writeStructured(streams.Out, o.output, items[0])
	case o.output != outputText:
		return writeStructured(streams.Out, o.output, statusListJSON{Items: items})
	case len(items) == 0:
		fmt.Fprintf(streams.ErrOut, "no Palisade policies in namespace %s\n", quote(ns))
		return nil
	}
	bar := isTerminal(streams.Out)
	for i, s := range items {
		if i > 0 {
			fmt.Fprintln(streams.Out)
		}
		writeStatusText(streams.Out, s, bar)
	}
	return nil
}

func statusOf(p policy, now time.Time) statusJSON {
	st := p.status
	s := statusJSON{
		Kind: p.ref.kind(), Namespace: p.ref.namespace, Name: p.ref.name,
		Generation: p.generation, ObservedGeneration: st.ObservedGeneration, Phase: st.Phase, PhaseSince: st.PhaseSince,
		Progress:           progressOf(p, now),
		EnforcedGeneration: st.EnforcedGeneration, PreviousEnforcedGeneration: st.PreviousEnforcedGeneration,
		NodesProgrammed: st.NodesProgrammed, NodesDesired: st.NodesDesired,
		Conditions: st.Conditions, Controls: st.Controls, Evidence: st.Evidence,
	}
	if st.PhaseSince != nil {
		s.InPhaseSeconds = int64(max(now.Sub(st.PhaseSince.Time), 0) / time.Second)
	}
	return s
}

// isTerminal reports whether w is a terminal, where the progress is drawn as a bar.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func generationText(g int64) string {
	if g == 0 {
		return "none"
	}
	return fmt.Sprintf("%d", g)
}

// writeStatusText writes one policy's rollout for people. Every value read from the cluster is
// quoted or escaped: a name or a message must not forge a line.
func writeStatusText(w io.Writer, s statusJSON, bar bool) {
	ref := policyRef{global: s.Kind == string(v1alpha1.KindGlobalNetworkPolicy), namespace: s.Namespace, name: s.Name}
	name := "globalnetworkpolicy/" + quote(s.Name)
	if !ref.global {
		name = "networkpolicy/" + quote(s.Namespace) + "/" + quote(s.Name)
	}
	fmt.Fprintln(w, name)
	phase := "none yet"
	if s.Phase != "" {
		phase = escapeControl(string(s.Phase))
		if s.PhaseSince != nil {
			phase += " for " + shortDuration(time.Duration(s.InPhaseSeconds)*time.Second)
		}
	}
	fmt.Fprintf(w, "  Phase:       %s\n", phase)
	fmt.Fprintf(w, "  Progress:    %s\n", s.Progress.text(bar))
	gen := fmt.Sprintf("%d", s.Generation)
	if s.ObservedGeneration != s.Generation {
		gen += fmt.Sprintf(" (status describes %s)", generationText(s.ObservedGeneration))
	}
	fmt.Fprintf(w, "  Generation:  %s, enforced %s", gen, generationText(s.EnforcedGeneration))
	if s.PreviousEnforcedGeneration != 0 {
		fmt.Fprintf(w, ", previous %d", s.PreviousEnforcedGeneration)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  Nodes:       %d/%d programmed\n", s.NodesProgrammed, s.NodesDesired)
	for _, t := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionProgressing, v1alpha1.ConditionDegraded} {
		c := meta.FindStatusCondition(s.Conditions, t)
		if c == nil || (t == v1alpha1.ConditionDegraded && c.Status != metav1.ConditionTrue) {
			continue
		}
		fmt.Fprintf(w, "  %-12s %s (%s): %s\n", t+":", escapeControl(string(c.Status)), escapeControl(c.Reason), escapeControl(clip(c.Message)))
	}
	if s.Controls != nil && (s.Controls.Paused || s.Controls.HeldGeneration != 0) {
		fmt.Fprintf(w, "  Controls:    paused %t, held generation %s\n", s.Controls.Paused, generationText(s.Controls.HeldGeneration))
	}
	ev := s.Evidence
	if ev == nil {
		return
	}
	fmt.Fprintf(w, "  Evidence:    would-deny %d, denied %d, allowed %d in the current window\n", ev.WouldDeny, ev.Denied, ev.Allowed)
	if len(ev.TopFlows) == 0 {
		return
	}
	fmt.Fprintln(w, "  Top would-deny flows:")
	for _, f := range ev.TopFlows {
		proto := escapeControl(f.Protocol)
		if f.Port != 0 {
			proto += fmt.Sprintf("/%d", f.Port)
		}
		fmt.Fprintf(w, "    %d  %s -> %s  %s\n", f.Count, quote(f.Source), quote(f.Destination), proto)
		for _, r := range f.SuggestedRules {
			list := "spec.ingress"
			if r.Direction == v1alpha1.PolicyTypeEgress {
				list = "spec.egress"
			}
			fmt.Fprintf(w, "       allow it with this rule at the top of %s:\n", list)
			b, err := yaml.Marshal([]v1alpha1.Rule{r.Rule})
			if err != nil {
				fmt.Fprintf(w, "         (cannot render the rule: %s)\n", escapeControl(err.Error()))
				continue
			}
			for _, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				fmt.Fprintf(w, "         %s\n", escapeControl(line))
			}
		}
		if f.SuggestionNote != "" {
			fmt.Fprintf(w, "       note: %s\n", escapeControl(f.SuggestionNote))
		}
	}
}
