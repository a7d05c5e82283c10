package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// outputYAML is -o yaml, offered by every command beside its default.
const outputYAML = "yaml"

// outputFlag registers -o/--output with the formats a command offers (the first is the default)
// and their shell completion.
func outputFlag(cmd *cobra.Command, target *string, formats ...string) {
	cmd.Flags().StringVarP(target, "output", "o", formats[0], "output format: "+strings.Join(formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return formats, cobra.ShellCompDirectiveNoFileComp
	})
}

// checkOutput reports an -o value outside formats.
func checkOutput(o string, formats ...string) error {
	if !slices.Contains(formats, o) {
		return fmt.Errorf("-o/--output %q: want one of %s", o, strings.Join(formats, ", "))
	}
	return nil
}

// writeStructured writes v as indented JSON or as YAML (the same fields, through JSON, as kubectl
// does).
func writeStructured(w io.Writer, format string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("rendering the output as JSON: %w", err)
	}
	if format == outputYAML {
		if b, err = yaml.JSONToYAML(b); err != nil {
			return fmt.Errorf("rendering the output as YAML: %w", err)
		}
		_, err = w.Write(b)
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}
