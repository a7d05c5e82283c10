package cli

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/assets"
)

// TestObserveAgainstAPIServer runs `observe` against a real API server (envtest) holding
// NodeReports written directly, as three enforcers would: node-a and node-b count generation 2 of
// prod/guard in Audit since t0 (node-b in two shards), node-c still counts generation 1; node-b
// lost samples. The outputs are golden files compared whole.
func TestObserveAgainstAPIServer(t *testing.T) {
	dir := assets.Require(t)
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{Scheme: s, BinaryAssetsDirectory: dir, ErrorIfCRDPathMissing: true,
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ControlPlaneStartTimeout: 2 * time.Minute}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	user, err := env.AddUser(envtest.User{Name: "observer", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", kubeconfig)

	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		t.Fatal(err)
	}
	for _, nr := range observeFixture() {
		if err := c.Create(context.Background(), &nr); err != nil {
			t.Fatalf("creating %s: %v", nr.Name, err)
		}
	}

	runCases(t, "testdata/observe", []cliCase{
		{name: "all", code: 0, args: []string{"observe"}},
		{name: "one-policy", code: 0, args: []string{"observe", "-n", "prod", "guard", "--top", "1"}},
		{name: "json", code: 0, args: []string{"observe", "-n", "prod", "-o", "json"}},
		{name: "unknown-policy", code: 1, args: []string{"observe", "-n", "shop", "guard"}},
		{name: "error-bad-output", code: 2, args: []string{"observe", "-o", "wide"}},
	})
}

var obsT0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

func observeFixture() []v1alpha1.NodeReport {
	at := func(d time.Duration) *metav1.Time { t := metav1.NewTime(obsT0.Add(d)); return &t }
	ws := at(0)
	guard := func(gen int64, window v1alpha1.FlowCounts, flows ...v1alpha1.ObservedFlow) v1alpha1.PolicyReport {
		return v1alpha1.PolicyReport{Kind: v1alpha1.KindNetworkPolicy, Namespace: "prod", Name: "guard", Generation: gen,
			Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1, WindowStart: ws, Window: window, Recent: window, WouldDenyFlows: flows}
	}
	flow := func(src string, port int32, n int64, rule string, first, last time.Duration) v1alpha1.ObservedFlow {
		return v1alpha1.ObservedFlow{Source: src, Destination: "prod/server", Protocol: "TCP", Port: port, Count: n,
			FirstSeen: at(first), LastSeen: at(last), Rule: rule}
	}
	gnp := v1alpha1.PolicyReport{Kind: v1alpha1.KindGlobalNetworkPolicy, Name: "deny-external", Generation: 5,
		Phase: v1alpha1.PhaseStaged, EnforcedGeneration: 4, WindowStart: at(time.Minute),
		Window: v1alpha1.FlowCounts{WouldDeny: 1, Denied: 2, Allowed: 40},
		WouldDenyFlows: []v1alpha1.ObservedFlow{{Source: "prod/client", Destination: "203.0.113.9", Protocol: "UDP", Port: 53, Count: 3,
			FirstSeen: at(time.Minute), LastSeen: at(2 * time.Minute), Rule: "default deny"}}}
	report := func(name, node string, dropped int64, truncated bool, t time.Duration, pols ...v1alpha1.PolicyReport) v1alpha1.NodeReport {
		return v1alpha1.NodeReport{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.NodeReportSpec{
			NodeName: node, ReportTime: metav1.NewMicroTime(obsT0.Add(t)), DroppedSamples: dropped, PolicyCount: int32(len(pols)),
			Policies: pols, Truncated: truncated}}
	}
	return []v1alpha1.NodeReport{
		report("node-a", "node-a", 0, false, 5*time.Minute,
			guard(2, v1alpha1.FlowCounts{WouldDeny: 4, Allowed: 10},
				flow("prod/client", 80, 3, "ingress[0]", time.Second, 4*time.Minute),
				flow("198.18.7.1", 80, 1, "default deny", 2*time.Minute, 2*time.Minute)),
			gnp),
		report("node-b", "node-b", 12, true, 5*time.Minute,
			guard(2, v1alpha1.FlowCounts{WouldDeny: 2, Allowed: 5},
				flow("prod/client", 80, 2, "ingress[0]", 0, 3*time.Minute))),
		report("node-b-1", "node-b", 12, true, 5*time.Minute, gnp),
		report("node-c", "node-c", 0, false, 5*time.Minute,
			guard(1, v1alpha1.FlowCounts{WouldDeny: 9}, flow("prod/other", 443, 9, "ingress[1]", 0, time.Minute))),
	}
}

// TestSummarizeCountsANodeOnce: a node whose shards both mention a policy (written at different
// times) counts once, with its newest mention; ties in flow counts are broken by key.
func TestSummarizeCountsANodeOnce(t *testing.T) {
	p := func(wouldDeny int64, flows ...v1alpha1.ObservedFlow) v1alpha1.PolicyReport {
		return v1alpha1.PolicyReport{Kind: v1alpha1.KindGlobalNetworkPolicy, Name: "g", Generation: 3, Phase: v1alpha1.PhaseAudit,
			Window: v1alpha1.FlowCounts{WouldDeny: wouldDeny}, WouldDenyFlows: flows}
	}
	f := func(src string, n int64) v1alpha1.ObservedFlow {
		return v1alpha1.ObservedFlow{Source: src, Destination: "d", Protocol: "TCP", Port: 1, Count: n, Rule: "default deny"}
	}
	nr := func(name string, at time.Duration, pol v1alpha1.PolicyReport) v1alpha1.NodeReport {
		return v1alpha1.NodeReport{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1alpha1.NodeReportSpec{NodeName: "n", ReportTime: metav1.NewMicroTime(obsT0.Add(at)), Policies: []v1alpha1.PolicyReport{pol}}}
	}
	got := summarize([]v1alpha1.NodeReport{
		nr("n", time.Minute, p(7, f("b", 2), f("a", 2), f("c", 1))),
		nr("n-1", 0, p(100, f("z", 100))),
	}, observeFilter{}, 2)
	if len(got.Policies) != 1 {
		t.Fatalf("policies = %+v", got.Policies)
	}
	g := got.Policies[0]
	if g.Window.WouldDeny != 7 || len(g.Nodes) != 1 || len(g.Flows) != 2 || g.Flows[0].Source != "a" || g.Flows[1].Source != "b" {
		t.Errorf("summary = %+v", g)
	}
	if got := summarize(nil, observeFilter{}, 5); len(got.Policies) != 0 || len(got.Nodes) != 0 {
		t.Errorf("no reports: %+v", got)
	}
}
