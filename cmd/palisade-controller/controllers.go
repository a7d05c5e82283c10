package main

import (
	"flag"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/palisade-dev/palisade/controllers"
)

// The rollout controllers' flags are declared here, next to their wiring, so that main.go only calls
// setupControllers; flag.Parse in main reads them.
var (
	reportInterval = flag.Duration("report-interval", controllers.DefaultReportInterval,
		"how often enforcers write their NodeReports; must match the enforcers' setting (it sets when a report is stale and the step-back rate)")
	reportBatch = flag.Duration("report-batch", controllers.DefaultReportBatch,
		"how long node report changes are gathered before the policies they mention are decided (about half the report interval)")
	rolloutWorkers = flag.Int("rollout-workers", 4, "policies of each kind reconciled concurrently by the rollout controllers")
)

// setupControllers registers the rollout operator (controllers/) with the manager. Its controllers run
// on the elected leader only; the webhooks keep being served by every replica.
func setupControllers(mgr ctrl.Manager, o options) error {
	if _, err := controllers.Setup(mgr, controllers.Options{
		Namespace: o.namespace, ReportInterval: *reportInterval, ReportBatch: *reportBatch, MaxConcurrentReconciles: *rolloutWorkers,
	}); err != nil {
		return fmt.Errorf("setting up the rollout controllers: %w", err)
	}
	return nil
}
