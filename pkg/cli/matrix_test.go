package cli

import "testing"

func TestMatrix(t *testing.T) {
	runCases(t, "testdata/matrix", []cliCase{
		{name: "declared-ports", code: 0,
			args: []string{"matrix", "-f", traceCluster}},
		{name: "ports-sorted-and-deduplicated", code: 0,
			args: []string{"matrix", "-f", traceCluster, "--ports", "81/TCP,53/udp,80,80/TCP"}},
		{name: "json", code: 0,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP,53/UDP", "-o", "json"}},

		{name: "from-and-to-selectors", code: 0,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP", "--from", "app=b", "--to", "app in (a,b)"}},
		{name: "from-and-to-selectors-json", code: 0,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP", "--from", "app=b", "--to", "app=a", "-o", "json"}},
		{name: "mixed-ip-families", code: 0,
			args: []string{"matrix", "-f", "testdata/matrix/mixed-families.yaml", "--ports", "80/TCP"}},
		{name: "mixed-ip-families-json", code: 0,
			args: []string{"matrix", "-f", "testdata/matrix/mixed-families.yaml", "--ports", "80/TCP", "-o", "json"}},
		{name: "error-bad-selector", code: 2,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP", "--from", "app=(b"}},
		{name: "error-selector-selects-nothing", code: 2,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP", "--to", "app=nope"}},
		{name: "error-bad-ports", code: 2,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/TCP,,53/UDP"}},
		{name: "error-bad-protocol", code: 2,
			args: []string{"matrix", "-f", traceCluster, "--ports", "80/ICMP"}},
		{name: "error-pod-without-ip", code: 2,
			args: []string{"matrix", "-f", "testdata/trace/pod-without-ip.yaml", "--ports", "80"}},
		{name: "error-no-pods", code: 2,
			args: []string{"matrix", "-f", "testdata/trace/hostnetwork.yaml", "--ports", "80"}},
		{name: "error-no-files", code: 2,
			args: []string{"matrix", "-o", "wide"}},
	})
}
