package cli

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/convert"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/validation"
)

const lintLong = `Check manifests offline, exactly as the cluster's admission would.

Palisade NetworkPolicy and GlobalNetworkPolicy objects are first defaulted as the mutating
webhook does (types from the rule lists present, tier, rollout), then validated as the validating
webhook does, so lint reports what applying the file would report: the errors that would reject
it and the warnings it would print. Kubernetes NetworkPolicies (networking.k8s.io/v1) are
validated with the upstream rules. Calico documents (projectcalico.org) are reported as needing
"kubectl palisade convert". Other objects (Pods, Namespaces, Deployments...) are accepted silently.
Unknown fields and values of the wrong type are errors, with their line. A namespaced object
without a namespace is checked in the namespace kubectl would put it in: -n, or "default".

One line per finding (-o json and -o yaml give {"findings": [{"file", "document", "line",
"severity", "kind", "namespace", "name", "field", "message"}]} instead):

  FILE:DOC_INDEX: KIND/NAMESPACE/NAME: FIELD_PATH: message

DOC_INDEX counts the documents of FILE from 0 (empty documents are not counted). Objects without
a namespace print as KIND/NAME. Warnings start with "warning: ".

Exit status: 0 when everything is valid (warnings allowed), 1 when anything is invalid, 2 when an
input cannot be read or parsed, or holds an object that could carry policy and is not understood
(an unknown kind or version of policy.palisade.dev, a misspelt NetworkPolicy); a document that does
not parse is reported and every other document is still checked. Files of a folder that are not Kubernetes manifests (no apiVersion and
kind) are skipped with a note.`

const lintExample = `  # Check a file, a folder (its *.yaml, *.yml and *.json files; -R for subfolders) and stdin
  kubectl palisade lint -f policy.yaml -f policies/
  helm template chart/ | kubectl palisade lint -f -`

func newLintCommand(streams IOStreams) *cobra.Command {
	var (
		paths  []string
		ns     namespaceFlag
		input  inputFlag
		output string
	)
	cmd := &cobra.Command{
		Use:     "lint -f PATH...",
		Short:   "Check policies offline, as admission would",
		Long:    lintLong,
		Example: lintExample,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(paths) == 0 {
				return errors.New("lint needs at least one -f PATH (a file, a folder, or - for stdin)")
			}
			ns.resolve(cmd)
			opts, err := input.options()
			if err != nil {
				return err
			}
			if err := checkOutput(output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			opts.KeepGoing = true
			return runLint(streams, paths, ns, opts, output)
		},
	}
	ns.register(cmd)
	input.register(cmd)
	outputFlag(cmd, &output, outputText, outputJSON, outputYAML)
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	cmd.Flags().StringArrayVarP(&paths, "filename", "f", nil, "file, folder (its *.yaml, *.yml and *.json files; -R for subfolders) or - for stdin; repeatable")
	return cmd
}

func runLint(streams IOStreams, paths []string, ns namespaceFlag, opts manifest.Options, output string) error {
	set, err := manifest.LoadLenientWith(paths, streams.In, opts)
	if err == nil {
		err = applyNamespace(set, ns)
	}
	if err != nil {
		fmt.Fprintf(streams.ErrOut, "error: %s\n", escapeLines(err.Error()))
		return &ExitError{Code: ExitUsage}
	}
	for _, n := range set.Notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", escapeLines(n))
	}
	// Documents that did not parse are reported first; every other document is still checked.
	for _, p := range set.Problems {
		fmt.Fprintf(streams.ErrOut, "error: %s\n", escapeLines(p.Error()))
	}
	if len(set.Documents) == 0 && len(set.Problems) == 0 {
		fmt.Fprintln(streams.ErrOut, "note: "+emptyInput)
		return nil
	}
	invalid, unreadable := false, false
	dups := map[*manifest.Document]duplicate{}
	for _, dup := range findDuplicates(set) {
		dups[dup.later] = dup
	}
	all := []findingJSON{}
	for _, d := range set.Documents {
		fs := lintDocument(d)
		unreadable = unreadable || unknownPalisadeType(d)
		if dup, ok := dups[d]; ok {
			// A warning in lint, which checks each object as admission would; trace and matrix,
			// whose verdict would depend on which one wins, refuse it.
			fs = append(fs, newFinding(d, "metadata.name", dup.message(), true))
		}
		for _, f := range fs {
			if !f.warning {
				invalid = true
			}
			all = append(all, f.structured())
		}
		if output == outputText {
			writeFindings(streams.Out, fs)
		}
	}
	if output != outputText {
		if err := writeStructured(streams.Out, output, struct {
			Findings []findingJSON `json:"findings"`
		}{all}); err != nil {
			return err
		}
	}
	if len(set.Problems) > 0 || unreadable {
		return &ExitError{Code: ExitUsage}
	}
	if invalid {
		return &ExitError{Code: ExitInvalid}
	}
	return nil
}

// unknownPalisadeType reports a document of Palisade's API group that is not one of its policy kinds
// at its served version: it could carry policy and cannot be read, which every command treats as
// unreadable input (exit 2, issue 13 item 4), not as an invalid policy (exit 1).
func unknownPalisadeType(d *manifest.Document) bool {
	if d.Err == nil {
		return false
	}
	gv, err := schema.ParseGroupVersion(d.APIVersion)
	if err != nil || gv.Group != v1alpha1.GroupVersion.Group {
		return false
	}
	return gv.Version != v1alpha1.GroupVersion.Version || (d.Kind != "NetworkPolicy" && d.Kind != "GlobalNetworkPolicy")
}

// lintDocument returns the findings of one document, errors and warnings in the order validation
// reports them.
func lintDocument(d *manifest.Document) []finding {
	if d.Err != nil {
		var fs []finding
		for _, fe := range d.Err.Fields {
			fs = append(fs, newFindingAt(d, fe.Path, fe.Message, fe.Line, false))
		}
		return fs
	}
	switch d.Class {
	case manifest.ClassCalico:
		if !convert.Converts(d) {
			return []finding{newFindingAt(d, "kind", fmt.Sprintf(
				"%s %s is Calico's API and has no Palisade equivalent: convert refuses it too (it converts NetworkPolicy, GlobalNetworkPolicy and the Staged kinds of %s); remove it or express it in Palisade policies",
				d.APIVersion, quote(d.Kind), convert.CalicoAPIVersion), d.FieldLine("kind"), false)}
		}
		return []finding{newFinding(d, "apiVersion", fmt.Sprintf(
			"%s is Calico's API, not Palisade's; convert it with: kubectl palisade convert -f %s",
			d.APIVersion, fileArgument(d.Source)), false)}
	case manifest.ClassOther:
		return nil
	}
	var (
		errs  field.ErrorList
		warns []validation.Warning
	)
	switch o := d.Object.(type) {
	case *v1alpha1.NetworkPolicy:
		p := o.DeepCopy()
		defaulting.NetworkPolicy(p)
		errs, warns = validation.ValidateNetworkPolicy(p)
	case *v1alpha1.GlobalNetworkPolicy:
		p := o.DeepCopy()
		defaulting.GlobalNetworkPolicy(p)
		errs, warns = validation.ValidateGlobalNetworkPolicy(p)
	case *networkingv1.NetworkPolicy:
		errs, warns = validation.ValidateKubernetesNetworkPolicy(o)
	default:
		return nil // Pods, Namespaces, ServiceAccounts, Services: model input, nothing to check.
	}
	var fs []finding
	for _, e := range errs {
		fs = append(fs, newFindingAt(d, e.Field, clip(e.ErrorBody()), d.FieldLine(e.Field), false))
	}
	for _, w := range warns {
		fs = append(fs, newFindingAt(d, w.Field, clip(w.Message), d.FieldLine(w.Field), true))
	}
	return fs
}
