package metrics

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Programmed(time.Millisecond, 10, 3, 2, 5, 3)
	m.Failed(time.Millisecond, "iptables")
	want := `
# HELP palisade_enforcer_rules_programmed iptables rules in Palisade's chains after the last successful sync.
# TYPE palisade_enforcer_rules_programmed gauge
palisade_enforcer_rules_programmed 10
# HELP palisade_enforcer_sync_errors_total Failed syncs by the step that failed.
# TYPE palisade_enforcer_sync_errors_total counter
palisade_enforcer_sync_errors_total{step="iptables"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "palisade_enforcer_rules_programmed", "palisade_enforcer_sync_errors_total"); err != nil {
		t.Fatal(err)
	}
}
