package demo

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/rollout"
	"github.com/palisade-dev/palisade/pkg/validation"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// The policies the demo applies are the example's, with a rollout section (and, for the fix, one
// more egress rule): each must still be understood and valid, or the demo would fail at kubectl
// apply after building a whole lab.
func TestScenarioPoliciesAreValid(t *testing.T) {
	sc, err := loadScenario(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{o: Options{Window: 20 * time.Second}, sc: sc}
	d.columns()
	if len(d.cols) != len(sc.workload.Pods) {
		t.Errorf("matrix columns %v: want one per pod of %s", d.cols, scenarioDir)
	}
	for _, f := range []flow{workerToDatabase, apiToDatabase, webToDatabase, webToWorker, webToAPI, apiToWeb, ingressToWeb} {
		if !containsColumn(d.cols, column{pod: f.To, port: f.Port}) {
			t.Errorf("flow %s: not a cell of the matrix (a pod on its first declared port)", f)
		}
	}
	immediate, err := sc.policy(immediatePolicy, map[string]any{"strategy": "Immediate"})
	if err != nil {
		t.Fatal(err)
	}
	progressive, err := sc.policy(progressivePolicy, d.progressiveRollout())
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := sc.policy(progressivePolicy, d.progressiveRollout())
	if err != nil {
		t.Fatal(err)
	}
	addEgressRule(fixed, workerMetricsRule)
	for name, obj := range map[string]map[string]any{"immediate": immediate, "progressive": progressive, "fixed": fixed} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "policy.yaml")
			if err := writeObject(path, obj); err != nil {
				t.Fatal(err)
			}
			set, err := manifest.Load([]string{path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := set.Err(); err != nil {
				t.Fatalf("the demo's policy is not understood: %v", err)
			}
			if len(set.NetworkPolicies) != 1 {
				t.Fatalf("want one NetworkPolicy, got %d", len(set.NetworkPolicies))
			}
			p := set.NetworkPolicies[0].Object
			if errs, _ := validation.ValidateNetworkPolicy(p); len(errs) > 0 {
				t.Errorf("the demo's policy is invalid: %v", errs.ToAggregate())
			}
		})
	}
	// The source objects are untouched: the demo copies before it edits.
	if _, ok := sc.policies[progressivePolicy]["spec"].(map[string]any)["rollout"]; ok {
		t.Error("policy() edited the scenario's own object")
	}
}

func containsColumn(cols []column, c column) bool {
	for _, x := range cols {
		if x == c {
			return true
		}
	}
	return false
}

func TestProgressiveRolloutDecodes(t *testing.T) {
	d := &demo{o: Options{Window: 15 * time.Second}}
	b, err := yaml.Marshal(d.progressiveRollout())
	if err != nil {
		t.Fatal(err)
	}
	var r v1alpha1.RolloutSpec
	if err := yaml.UnmarshalStrict(b, &r); err != nil {
		t.Fatalf("spec.rollout %s: %v", b, err)
	}
	if r.Strategy != v1alpha1.RolloutProgressive || r.Audit.MinDuration.Duration != 15*time.Second || r.Staged.MinDuration.Duration != 15*time.Second {
		t.Errorf("spec.rollout = %s: want Progressive with 15s windows", b)
	}
}

func TestSuccessfulSyncs(t *testing.T) {
	text := `# HELP palisade_enforcer_sync_duration_seconds Time taken by one dataplane sync.
# TYPE palisade_enforcer_sync_duration_seconds histogram
palisade_enforcer_sync_duration_seconds_bucket{result="success",le="0.001"} 3
palisade_enforcer_sync_duration_seconds_count{result="error"} 1
palisade_enforcer_sync_duration_seconds_count{result="success"} 42
`
	v, ok, err := successfulSyncs(strings.NewReader(text))
	if err != nil || !ok || v != 42 {
		t.Errorf("successfulSyncs = %v, %v, %v; want 42, true, nil", v, ok, err)
	}
	if _, ok, err := successfulSyncs(strings.NewReader("other 1\n")); ok || err != nil {
		t.Errorf("missing sample: found %v, error %v", ok, err)
	}
	if _, _, err := successfulSyncs(strings.NewReader(syncsSample + " x\n")); err == nil {
		t.Error("a malformed value must be an error")
	}
}

func TestMatrixMarksChanges(t *testing.T) {
	cols := []column{
		{pod: "a/x", port: probe.Port{Port: 80, Protocol: probe.TCP}},
		{pod: "b/y", port: probe.Port{Port: 53, Protocol: probe.UDP}},
	}
	prev := []probe.Verdict{
		{From: "a/x", To: "b/y", Port: 53, Protocol: probe.UDP, Allowed: true},
		{From: "b/y", To: "a/x", Port: 80, Protocol: probe.TCP, Allowed: true},
	}
	now := []probe.Verdict{
		{From: "a/x", To: "b/y", Port: 53, Protocol: probe.UDP, Allowed: false},
		{From: "b/y", To: "a/x", Port: 80, Protocol: probe.TCP, Allowed: true},
		// Another port to the same pod is not a cell.
		{From: "b/y", To: "a/x", Port: 53, Protocol: probe.UDP, Allowed: false},
	}
	var out bytes.Buffer
	(&narrator{out: &out}).matrix(cols, now, prev)
	want := "    from \\ to  x:80  y:53/UDP  \n" +
		"    a/x        ·     DROP*     \n" +
		"    b/y        ok    ·         \n" +
		"    (* changed since the previous matrix)\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("matrix (-want +got):\n%s", diff)
	}
}

func TestClaimsAreRecorded(t *testing.T) {
	var out bytes.Buffer
	n := &narrator{out: &out}
	if !n.claim(true, "the sky is up", "it is down") {
		t.Error("a true claim returned false")
	}
	if n.claim(false, "pigs fly", "they walk") {
		t.Error("a false claim returned true")
	}
	if diff := cmp.Diff([]string{"pigs fly: they walk"}, n.false); diff != "" {
		t.Errorf("false claims (-want +got):\n%s", diff)
	}
	if got := out.String(); !strings.Contains(got, "✔ the sky is up") || !strings.Contains(got, "✘ NOT TRUE: pigs fly: they walk") {
		t.Errorf("narration:\n%s", got)
	}
}

func TestFindBinaries(t *testing.T) {
	dir := t.TempDir()
	if _, err := findBinaries(dir, dir); err == nil || !strings.Contains(err.Error(), "make build helm envtest-bins") {
		t.Errorf("missing binaries: error %v, want one saying how to build them", err)
	}
	for _, name := range []string{"palisade-controller", "palisade-enforcer", "kubectl-palisade", "helm", "kubectl"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := findBinaries(dir, dir); err != nil {
		t.Errorf("every binary present: %v", err)
	}
}

func TestWouldDenySeen(t *testing.T) {
	progressing := func(reason string) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionTrue, Reason: reason}}
	}
	tests := []struct {
		name   string
		status v1alpha1.PolicyStatus
		want   bool
	}{
		{"nothing reported", v1alpha1.PolicyStatus{Conditions: progressing("EvidenceMissing")}, false},
		{"a quiet window", v1alpha1.PolicyStatus{Evidence: &v1alpha1.Evidence{Allowed: 3}, Conditions: progressing("WaitingForMinDuration")}, false},
		{"counted in the window", v1alpha1.PolicyStatus{Evidence: &v1alpha1.Evidence{WouldDeny: 2}}, true},
		{"shown as top flows", v1alpha1.PolicyStatus{Evidence: &v1alpha1.Evidence{TopFlows: []v1alpha1.FlowSample{{Source: "a", Destination: "b", Count: 1}}}}, true},
		{"the window started again", v1alpha1.PolicyStatus{Evidence: &v1alpha1.Evidence{}, Conditions: progressing("DenialsInWindow")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wouldDenySeen(&v1alpha1.NetworkPolicy{Status: tt.status}); got != tt.want {
				t.Errorf("wouldDenySeen = %v, want %v", got, tt.want)
			}
		})
	}
}

// Staged enforces the candidate on the canary only: the step-back step needs web, the one pod
// web-tier selects, in it.
func TestCanaryHoldsWeb(t *testing.T) {
	// web-tier selects tier == 'frontend': frontend/web alone, the source of webToAPI.
	web := strings.SplitN(webToAPI.From, "/", 2)
	if !rollout.InCanary(rollout.EndpointIdentity(web[0], web[1]), canaryPercent) {
		t.Errorf("%s is not in a %d%% canary: Staged would not enforce web-tier on it", webToAPI.From, canaryPercent)
	}
}

func TestRemoveEgressRule(t *testing.T) {
	obj := map[string]any{"spec": map[string]any{"egress": []any{"a", "b", "c"}}}
	removeEgressRule(obj, 0)
	if diff := cmp.Diff([]any{"b", "c"}, obj["spec"].(map[string]any)["egress"]); diff != "" {
		t.Errorf("egress (-want +got):\n%s", diff)
	}
}

func TestSteppedBack(t *testing.T) {
	degraded := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{{Type: v1alpha1.ConditionDegraded, Status: status, Reason: reason}}
	}
	tests := []struct {
		name   string
		status v1alpha1.PolicyStatus
		want   bool
	}{
		{"stepped back", v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, Conditions: degraded(metav1.ConditionTrue, "SteppedBack")}, true},
		{"still staged", v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseStaged, Conditions: degraded(metav1.ConditionFalse, "NotDegraded")}, false},
		{"rolled back by request", v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, Conditions: degraded(metav1.ConditionTrue, "RolledBack")}, false},
		{"audit, not degraded", v1alpha1.PolicyStatus{Phase: v1alpha1.PhaseAudit, Conditions: degraded(metav1.ConditionFalse, "NotDegraded")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := steppedBack(&v1alpha1.NetworkPolicy{Status: tt.status}); got != tt.want {
				t.Errorf("steppedBack = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestShowChanges(t *testing.T) {
	sc, err := loadScenario(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	d := &demo{o: Options{Window: 20 * time.Second}, sc: sc, n: &narrator{out: &out}}
	immediate, err := sc.policy(immediatePolicy, map[string]any{"strategy": "Immediate"})
	if err != nil {
		t.Fatal(err)
	}
	d.showChanges("db.yaml", immediatePolicy, immediate)
	if got := out.String(); !strings.Contains(got, "strategy: Immediate") || strings.Contains(got, "egress") {
		t.Errorf("the Immediate policy's changes: want its rollout only, got:\n%s", got)
	}
	out.Reset()
	fixed, err := sc.policy(progressivePolicy, d.progressiveRollout())
	if err != nil {
		t.Fatal(err)
	}
	addEgressRule(fixed, workerMetricsRule)
	d.showChanges("web.yaml", progressivePolicy, fixed)
	if got := out.String(); !strings.Contains(got, "minDuration: 20s") || !strings.Contains(got, "egress:") || !strings.Contains(got, "9100") {
		t.Errorf("the fixed policy's changes: want its rollout and egress rules, got:\n%s", got)
	}
}

func TestProgressLine(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &v1alpha1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "frontend", Name: "web-tier", Generation: 2},
		Status: v1alpha1.PolicyStatus{
			Phase:      v1alpha1.PhaseAudit,
			PhaseSince: &metav1.Time{Time: t0},
			Evidence:   &v1alpha1.Evidence{WindowStart: &metav1.Time{Time: t0.Add(2 * time.Second)}, WouldDeny: 1, Allowed: 7},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionProgressing, Status: metav1.ConditionTrue, Reason: "WaitingForMinDuration"}},
		},
	}
	report := func(node string, at time.Duration, gen int64, phase v1alpha1.RolloutPhase) v1alpha1.NodeReport {
		r := v1alpha1.NodeReport{Spec: v1alpha1.NodeReportSpec{NodeName: node, ReportTime: metav1.NewMicroTime(t0.Add(at))}}
		if gen > 0 {
			r.Spec.Policies = []v1alpha1.PolicyReport{{Kind: v1alpha1.KindNetworkPolicy, Namespace: "frontend", Name: "web-tier", Generation: gen, Phase: phase}}
		}
		return r
	}
	reports := []v1alpha1.NodeReport{
		report("node-b", 9*time.Second, 1, v1alpha1.PhaseAudit),
		report("node-a", 8*time.Second, 2, v1alpha1.PhaseAudit),
		report("node-c", 8*time.Second, 0, ""),
	}
	got := progressLine(t0.Add(12500*time.Millisecond), p, 20*time.Second, reports)
	want := "Audit 10s of its 20s window | evidence: 1 would-deny, 0 denied, 7 allowed | " +
		"reports: node-a 4s ago, node-b still generation 1 Audit, node-c none on it | operator: WaitingForMinDuration"
	if got != want {
		t.Errorf("progressLine:\n got %s\nwant %s", got, want)
	}
	if got := progressLine(t0, &v1alpha1.NetworkPolicy{}, time.Second, nil); got != "no phase yet | reports: none yet" {
		t.Errorf("progressLine of a new policy: %s", got)
	}
}

func TestDuringSaysItIsWorking(t *testing.T) {
	var out bytes.Buffer
	n := &narrator{out: &out}
	if err := n.during("working", func() error { time.Sleep(progressEvery + 1500*time.Millisecond); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !regexp.MustCompile(`^ +[34]s: working\n$`).MatchString(got) {
		t.Errorf("during printed %q, want one progress line", got)
	}
	out.Reset()
	want := errors.New("failed")
	if err := n.during("failing", func() error { return want }); !errors.Is(err, want) || out.Len() != 0 {
		t.Errorf("during of a quick failure: error %v, printed %q; want the error and nothing printed", err, out.String())
	}
}

// The helm command the demo prints can be pasted into a shell: the --set values with braces
// (which bash would expand) are quoted.
func TestChartValuesAsTyped(t *testing.T) {
	got := shellWords(chartValues(5 * time.Second))
	want := "--set 'controller.extraArgs={--report-interval=5s,--report-batch=1s}' --set 'enforcer.extraArgs={--report-interval=5s,--min-sync-interval=100ms}'"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
