package cli

import (
	"encoding/json"
	"errors"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/spf13/cobra"

	"github.com/palisade-dev/palisade/pkg/convert"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

const convertLong = `Convert Calico policies (projectcalico.org/v3) to Palisade policies, offline.

NetworkPolicy and GlobalNetworkPolicy change apiVersion and keep everything else. The Staged kinds
become the corresponding Palisade policy held in Audit (spec.rollout: {strategy: Progressive,
paused: true}): evaluated and counted, never enforced, until you unpause it. A
StagedKubernetesNetworkPolicy becomes a Palisade NetworkPolicy translated as Calico translates
Kubernetes policies (order 1000, one Allow rule per protocol and peer). Status and the metadata
the API server fills in are dropped.

Other documents are copied to the output unchanged, so a folder of manifests converts as a whole.

Nothing is written when any document fails to convert (an unknown field, stagedAction Delete, a
Calico kind Palisade does not have): applying only part of a policy set can open traffic.
Problems are printed to stderr as lint prints them.

Exit status: 0 converted (warnings allowed), 1 something did not convert, 2 an input cannot be
read or parsed.`

const convertExample = `  # Convert a folder and check the result
  kubectl palisade convert -f calico/ > palisade.yaml
  kubectl palisade lint -f palisade.yaml

  # Convert what calicoctl prints
  calicoctl get networkpolicy -A -o yaml | kubectl palisade convert -f -`

func newConvertCommand(streams IOStreams) *cobra.Command {
	var (
		paths  []string
		input  inputFlag
		output string
	)
	cmd := &cobra.Command{
		Use:     "convert -f PATH...",
		Short:   "Convert Calico policies to Palisade policies",
		Long:    convertLong,
		Example: convertExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(paths) == 0 {
				return errors.New("convert needs at least one -f PATH (a file, a folder, or - for stdin)")
			}
			opts, err := input.options()
			if err != nil {
				return err
			}
			if err := checkOutput(output, outputYAML, outputJSON); err != nil {
				return err
			}
			return runConvert(streams, paths, opts, output)
		},
	}
	input.register(cmd)
	outputFlag(cmd, &output, outputYAML, outputJSON)
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	cmd.Flags().StringArrayVarP(&paths, "filename", "f", nil, "file, folder (its *.yaml, *.yml and *.json files; -R for subfolders) or - for stdin; repeatable")
	return cmd
}

func runConvert(streams IOStreams, paths []string, opts manifest.Options, output string) error {
	set, err := manifest.LoadLenientWith(paths, streams.In, opts)
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %s\n", escapeLines(err.Error()))
		return &ExitError{Code: ExitUsage}
	}
	for _, n := range set.Notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", escapeLines(n))
	}
	res := convert.Manifests(set)
	var fs []finding
	for _, r := range res.Reports {
		fs = append(fs, newFindingAt(r.Document, r.Field, r.Message, r.Line, r.Warning))
	}
	writeFindings(streams.ErrOut, fs)
	if res.Failed() {
		return &ExitError{Code: ExitInvalid}
	}
	if output == outputJSON {
		return writeConvertedJSON(streams, res)
	}
	if _, err := streams.Out.Write(res.YAML()); err != nil {
		return fmt.Errorf("writing the converted manifests: %w", err)
	}
	return nil
}

// writeConvertedJSON writes the converted documents as one List, as kubectl get -o json writes
// several objects.
func writeConvertedJSON(streams IOStreams, res *convert.Result) error {
	items := make([]json.RawMessage, 0, len(res.Outputs))
	for _, o := range res.Outputs {
		j, err := yaml.YAMLToJSON(o.YAML)
		if err != nil {
			return fmt.Errorf("%s: rendering as JSON: %w", o.Source, err)
		}
		items = append(items, j)
	}
	return writeStructured(streams.Out, outputJSON, map[string]any{"apiVersion": "v1", "kind": "List", "items": items})
}
