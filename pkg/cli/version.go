package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Version is the release of kubectl-palisade, set at build time with
// -ldflags "-X github.com/palisade-dev/palisade/pkg/cli.Version=v0.1.0"; without it the module
// version from the build information is used ("(devel)" for a build from a checkout).
var Version = ""

// versionInfo is what version prints.
type versionInfo struct {
	Version   string `json:"version"`
	GoVersion string `json:"goVersion"`
	Commit    string `json:"commit,omitempty"`
	Platform  string `json:"platform"`
}

func currentVersion() versionInfo {
	v := versionInfo{Version: Version, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v.Version == "" {
			v.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				v.Commit = s.Value
			}
		}
	}
	if v.Version == "" {
		v.Version = "(devel)"
	}
	return v
}

func newVersionCommand(streams IOStreams) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of kubectl palisade",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkOutput(output, outputText, outputJSON, outputYAML); err != nil {
				return err
			}
			v := currentVersion()
			if output != outputText {
				return writeStructured(streams.Out, output, v)
			}
			commit := ""
			if v.Commit != "" {
				commit = ", commit " + v.Commit
			}
			_, err := fmt.Fprintf(streams.Out, "kubectl-palisade %s (%s, %s%s)\n", v.Version, v.GoVersion, v.Platform, commit)
			return err
		},
	}
	outputFlag(cmd, &output, outputText, outputJSON, outputYAML)
	return cmd
}
