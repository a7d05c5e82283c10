package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// reportBatch is the controller's --report-batch for a report interval: a fifth of it, so that a
// decision follows the report that allows it within a second or so, while the two nodes' reports
// of one interval are still mostly decided together.
func reportBatch(interval time.Duration) time.Duration {
	return max(interval/5, 100*time.Millisecond)
}

// chartValues are the demo's helm --set flags: the chart's defaults, with the short report
// interval on both sides and the enforcers' sync interval of the lab suites.
func chartValues(reportInterval time.Duration) []string {
	return []string{
		"--set", fmt.Sprintf("controller.extraArgs={--report-interval=%v,--report-batch=%v}", reportInterval, reportBatch(reportInterval)),
		"--set", fmt.Sprintf("enforcer.extraArgs={--report-interval=%v,--min-sync-interval=100ms}", reportInterval),
	}
}

// binaries are the programs the demo runs.
type binaries struct {
	controller, enforcer, kubectlPalisade, helm, kubectl string
}

// findBinaries looks for Palisade's binaries and helm in dir and kubectl in the envtest assets
// directory.
func findBinaries(dir, assetsDir string) (binaries, error) {
	b := binaries{
		controller:      filepath.Join(dir, "palisade-controller"),
		enforcer:        filepath.Join(dir, "palisade-enforcer"),
		kubectlPalisade: filepath.Join(dir, "kubectl-palisade"),
		helm:            filepath.Join(dir, "helm"),
		kubectl:         filepath.Join(assetsDir, "kubectl"),
	}
	var missing []string
	for _, p := range []string{b.controller, b.enforcer, b.kubectlPalisade, b.helm, b.kubectl} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("missing programs %s: build them with 'make build helm envtest-bins' (or give --bin-dir)", strings.Join(missing, ", "))
	}
	return b, nil
}
