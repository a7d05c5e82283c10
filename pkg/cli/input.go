package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/palisade-dev/palisade/pkg/manifest"
)

// inputFlag is --max-input-bytes, shared by every command that reads manifests.
type inputFlag struct {
	maxBytes  string
	recursive bool
}

func (f *inputFlag) register(cmd *cobra.Command) {
	cmd.Flags().BoolVarP(&f.recursive, "recursive", "R", false, "read the subdirectories of -f folders too, as kubectl -R")
	cmd.Flags().StringVar(&f.maxBytes, "max-input-bytes", "32Mi", "most bytes read from all -f inputs together, like 64Mi or 1Gi: reading stops there with an error rather than exhausting memory")
}

// options reads the flag into loader options.
func (f *inputFlag) options() (manifest.Options, error) {
	q, err := resource.ParseQuantity(f.maxBytes)
	if err != nil || q.Sign() <= 0 {
		return manifest.Options{}, fmt.Errorf("--max-input-bytes %q: want a positive size like 32Mi or 500000000", f.maxBytes)
	}
	return manifest.Options{MaxBytes: q.Value(), Recursive: f.recursive}, nil
}
