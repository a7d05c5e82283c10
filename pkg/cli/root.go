package cli

import (
	"github.com/spf13/cobra"
)

// commands builds every subcommand. Add a command by appending its constructor here; each gets the
// same streams as the root.
var commands = []func(IOStreams) *cobra.Command{
	newLintCommand,
	newConvertCommand,
	newTraceCommand, newMatrixCommand,
	newVersionCommand,
	newObserveCommand,
}

// clusterCommands build the commands that talk to a cluster; they also get the ClusterDeps.
var clusterCommands = []func(IOStreams, ClusterDeps) []*cobra.Command{
	rolloutCommands,
}

// NewRootCommand builds the kubectl-palisade command tree. Execute it and pass the result to
// HandleError for the exit code.
func NewRootCommand(streams IOStreams) *cobra.Command {
	return NewRootCommandWith(streams, ClusterDeps{})
}

// NewRootCommandWith is NewRootCommand with the cluster commands' dependencies given (tests pass a
// fake clock).
func NewRootCommandWith(streams IOStreams, deps ClusterDeps) *cobra.Command {
	root := &cobra.Command{
		Use:   "kubectl-palisade",
		Short: "Work with Palisade network policies",
		Long: `kubectl palisade works with Palisade network policies (policy.palisade.dev/v1alpha1):
check them offline before applying, convert Calico policies to them, and trace or tabulate which
flows the policies in a set of manifests allow.`,
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl palisade"},
		// Commands print their own findings and return an *ExitError; flag errors are printed once
		// by HandleError, without the usage text that would bury them.
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	// "kubectl palisade completion bash|zsh|fish|powershell" prints a completion script; kubectl
	// itself completes plugins through a kubectl_complete-palisade executable calling
	// "kubectl-palisade __complete", which cobra provides.
	root.CompletionOptions.DisableDefaultCmd = false
	for _, newCommand := range commands {
		root.AddCommand(newCommand(streams))
	}
	for _, newCommands := range clusterCommands {
		root.AddCommand(newCommands(streams, deps)...)
	}
	return root
}
