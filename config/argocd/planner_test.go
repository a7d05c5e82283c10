package argocd

import (
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	kstatus "sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// TestPlannerStatusesAgree drives the rollout planner through a rollout (new policy, promotion,
// a new generation, a step back, a pause, an invalid edit) with nodes that follow the status a report
// later, and reads every status it writes with health.lua, kstatus and kubectl wait's rule. The three
// must agree at every step (the fixtures' known disagreements are states the planner never writes),
// and the Argo CD health must be the one the step calls for.
func TestPlannerStatusesAgree(t *testing.T) {
	script := readScript(t)
	epoch := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	w := &walk{gen: 1, nodes: []string{"node-a", "node-b"}, now: epoch,
		spec: v1alpha1.RolloutSpec{
			Audit:    &v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: 2 * time.Minute}},
			Staged:   &v1alpha1.StagedPhaseSpec{PhaseSpec: v1alpha1.PhaseSpec{MinDuration: &metav1.Duration{Duration: 2 * time.Minute}}},
			Rollback: &v1alpha1.RollbackSpec{DeniedPerMinute: ptr.To[int64](5)},
		}}
	type step struct {
		do   func(*walk)
		want string // Argo CD health after the step
	}
	nothing := func(*walk) {}
	steps := []step{
		{nothing, "Healthy"},                          // new policy: nodes already program Audit (the no-phase default)
		{nothing, "Healthy"},                          // Audit, programmed
		{nothing, "Progressing"},                      // Audit → Staged: nodes not yet programmed
		{nothing, "Healthy"},                          // Staged, programmed
		{nothing, "Progressing"},                      // Staged → Enforced
		{nothing, "Healthy"},                          // Enforced, programmed
		{func(w *walk) { w.gen++ }, "Progressing"},    // new generation: Audit, generation 1 stays enforced
		{nothing, "Healthy"},                          // Audit, programmed
		{nothing, "Progressing"},                      // Staged
		{func(w *walk) { w.denied = 50 }, "Degraded"}, // canary denials: step back
		{nothing, "Degraded"},                         // held in Audit
		{func(w *walk) { w.gen++; w.spec.Paused = true }, "Progressing"}, // a paused edit: Audit, programming
		{nothing, "Suspended"}, // paused, programmed
		{func(w *walk) { w.gen++; w.invalid = "spec.selector: bad" }, "Degraded"},
		{func(w *walk) { w.nodes = nil; w.gen++; w.invalid = ""; w.spec.Paused = false }, "Progressing"}, // no enforcer left
	}
	for i, s := range steps {
		s.do(w)
		res := w.decide(t)
		obj := w.object(t, res.Status)
		health, msg, err := argoHealth(obj, script)
		if err != nil {
			t.Fatalf("step %d: health.lua: %v", i, err)
		}
		ks, err := kstatus.Compute(obj)
		if err != nil {
			t.Fatalf("step %d: kstatus: %v", i, err)
		}
		wait := kubectlWaitReady(obj)
		where := fmt.Sprintf("step %d (generation %d, %s %s: %s)", i, w.gen, res.Decision.Action, res.Status.Phase, res.Decision.Reason)
		if d := agreement(health, string(ks.Status), wait); d != "" {
			t.Errorf("%s: tools disagree: %s", where, d)
		}
		if health != s.want {
			t.Errorf("%s: Argo CD health %s (%s), want %s", where, health, msg, s.want)
		}
	}
}

// walk is a policy, its spec and its nodes; each decide is one reconcile a minute after the last,
// after every node has reported on the status it read before.
type walk struct {
	gen     int64
	spec    v1alpha1.RolloutSpec
	status  v1alpha1.PolicyStatus
	nodes   []string
	invalid string
	denied  int64
	now     time.Time
}

func (w *walk) decide(t *testing.T) rollout.Result {
	t.Helper()
	w.now = w.now.Add(time.Minute)
	var reports []rollout.NodeReport
	for _, n := range w.nodes {
		r := rollout.NodeReport{Node: n, ObservedAt: w.now, Generation: w.status.ObservedGeneration, Phase: w.status.Phase,
			EnforcedGeneration: w.status.EnforcedGeneration, Recent: rollout.Counts{Denied: w.denied}}
		if w.status.Phase == "" {
			r.Generation, r.Phase = w.gen, v1alpha1.PhaseAudit
		}
		if w.status.Evidence != nil && w.status.Evidence.WindowStart != nil {
			r.WindowStart = w.status.Evidence.WindowStart.Time
		}
		reports = append(reports, r)
	}
	res := rollout.Plan(rollout.Input{Generation: w.gen, Spec: w.spec.DeepCopy(), Status: w.status, Invalid: w.invalid,
		Nodes: w.nodes, Reports: reports, ReportInterval: time.Minute, Now: w.now})
	w.status = res.Status
	w.denied = 0
	return res
}

func (w *walk) object(t *testing.T, st v1alpha1.PolicyStatus) *unstructured.Unstructured {
	t.Helper()
	p := &v1alpha1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy.palisade.dev/v1alpha1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", Generation: w.gen},
		Status:     st,
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(p)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}
