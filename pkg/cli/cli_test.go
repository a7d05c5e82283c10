package cli

import "flag"

// update is the -update flag shared by every golden test of the package: it rewrites the golden
// files under testdata/ with the current output instead of comparing against them.
var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with the current output")
