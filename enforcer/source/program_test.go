package source

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-logr/logr/testr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

var npGVR = v1alpha1.GroupVersion.WithResource("networkpolicies")

// phaseWorld is a source over fake clients: namespace "web" with pods a0, a1, a4, a5 (app=a; at a 50%
// canary share a0 and a1 are in, a4 and a5 out) and b0 (app=b).
type phaseWorld struct {
	t     *testing.T
	ctx   context.Context
	kube  kubernetes.Interface
	dyn   dynamic.Interface
	e     *engine.Engine
	src   *Source
	dirty atomic.Int64
}

func newPhaseWorld(t *testing.T, objs ...runtime.Object) *phaseWorld {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	kubeObjs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}}}
	for i, name := range []string{"a0", "a1", "a4", "a5", "b0"} {
		kubeObjs = append(kubeObjs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name, Labels: map[string]string{"app": name[:1]}},
			Spec:       corev1.PodSpec{NodeName: "n0"},
			Status:     corev1.PodStatus{PodIP: "198.18.0." + string(rune('1'+i)), Phase: corev1.PodRunning},
		})
	}
	var dynObjs []runtime.Object
	for _, o := range objs {
		if _, ok := o.(*appsv1.ControllerRevision); ok {
			kubeObjs = append(kubeObjs, o)
			continue
		}
		// The dynamic fake serves what it was given: unstructured, as the informers expect.
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		dynObjs = append(dynObjs, &unstructured.Unstructured{Object: u})
	}
	// An empty scheme: the fake keeps the objects unstructured, as the API server serves them.
	scheme := runtime.NewScheme()
	kube := kubefake.NewClientset(kubeObjs...)
	w := &phaseWorld{t: t, ctx: ctx, kube: kube, e: engine.New()}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
		npGVR: "NetworkPolicyList",
		v1alpha1.GroupVersion.WithResource("globalnetworkpolicies"): "GlobalNetworkPolicyList",
	}, dynObjs...)
	w.dyn = dyn
	var watching sync.Map
	trackWatches(kube, kube.Tracker(), &watching)
	trackWatches(dyn, dyn.Tracker(), &watching)
	w.src = &Source{Engine: w.e, Dirty: func() { w.dirty.Add(1) }, Log: testr.New(t), RevisionNamespace: "palisade-system"}
	if err := w.src.Start(ctx, w.kube, w.dyn, 0); err != nil {
		t.Fatal(err)
	}
	// The fakes' watches cannot resume from a resourceVersion: a change made between an informer's
	// list and its watch would never be delivered. The tests change revisions and policies.
	eventually(t, func() bool {
		_, revs := watching.Load("controllerrevisions")
		_, pols := watching.Load("networkpolicies")
		return revs && pols
	})
	// Handlers run after the caches report synced: wait for every pod to be in the engine.
	eventually(t, func() bool {
		for i := range 5 {
			if len(w.e.EndpointsForIP(netip.AddrFrom4([4]byte{198, 18, 0, byte(1 + i)}))) != 1 {
				return false
			}
		}
		return true
	})
	return w
}

const policyUID = types.UID("0b5e6f7a-0000-4000-8000-000000000001")

// selecting is a NetworkPolicy "pol" in "web" at generation gen whose ingress policy selects app == app.
func selecting(app string, gen int64, st v1alpha1.PolicyStatus) *v1alpha1.NetworkPolicy {
	np := &v1alpha1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "pol", UID: policyUID, Generation: gen},
		Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{
			Selector: "app == '" + app + "'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress},
		}},
		Status: st,
	}
	np.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("NetworkPolicy"))
	return np
}

// revisionOfSpec is the operator's revision of np's spec as generation gen, owned by owner.
func revisionOfSpec(t *testing.T, np *v1alpha1.NetworkPolicy, gen int64, namespace string, owner types.UID) *appsv1.ControllerRevision {
	t.Helper()
	raw, err := json.Marshal(np.Spec)
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	return &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: namespace, Name: np.Name + "-" + string(rune('0'+gen)),
			Labels:          rollout.RevisionLabels(np.UID, gen),
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "policy.palisade.dev/v1alpha1", Kind: "NetworkPolicy", Name: np.Name, UID: owner, Controller: &yes}},
		},
		Revision: gen,
		Data:     runtime.RawExtension{Raw: raw},
	}
}

var polKey = engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "pol"}

// selected names the pods the generation in slot selects ("" when the slot is empty).
func (w *phaseWorld) selected(slot engine.Slot) []string {
	var out []string
	for _, r := range w.e.SelectedEndpoints(polKey, slot) {
		out = append(out, r.Name)
	}
	return out
}

func (w *phaseWorld) update(np *v1alpha1.NetworkPolicy) {
	w.t.Helper()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(np)
	if err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.dyn.Resource(npGVR).Namespace(np.Namespace).Update(w.ctx, &unstructured.Unstructured{Object: u}, metav1.UpdateOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

// wait waits until the source has applied generation gen of phase to polKey.
// trackWatches registers each watch of a fake client with its tracker before recording that it
// started (the pattern of client-go's fake-client example), so that a recorded watch sees every
// later change.
func trackWatches(f interface {
	PrependWatchReactor(resource string, reaction k8stesting.WatchReactionFunc)
}, tracker k8stesting.ObjectTracker, started *sync.Map) {
	f.PrependWatchReactor("*", func(action k8stesting.Action) (bool, watch.Interface, error) {
		gvr := action.GetResource()
		wi, err := tracker.Watch(gvr, action.GetNamespace())
		if err != nil {
			return false, nil, err
		}
		started.Store(gvr.Resource, true)
		return true, wi, nil
	})
}

func (w *phaseWorld) wait(phase string, cand int64) PolicyProgram {
	w.t.Helper()
	var got PolicyProgram
	eventually(w.t, func() bool {
		ps := w.src.Policies()
		if len(ps) != 1 {
			return false
		}
		got = ps[0]
		return got.Phase == phase && got.CandidateGeneration == cand
	})
	return got
}

func (w *phaseWorld) expectSlots(enforced, candidate []string, enforcedGen, candidateGen int64) {
	w.t.Helper()
	if got := w.selected(engine.SlotEnforced); !slices.Equal(got, enforced) {
		w.t.Errorf("enforced slot selects %v, want %v", got, enforced)
	}
	if got := w.selected(engine.SlotCandidate); !slices.Equal(got, candidate) {
		w.t.Errorf("candidate slot selects %v, want %v", got, candidate)
	}
	for slot, want := range map[engine.Slot]int64{engine.SlotEnforced: enforcedGen, engine.SlotCandidate: candidateGen} {
		g, ok := w.src.Generation(polKey, slot)
		if ok != (want != 0) || g != want {
			w.t.Errorf("Generation(slot %d) = %d, %v; want %d", slot, g, ok, want)
		}
	}
}

func TestNoStatusProgressiveIsShadowedOnly(t *testing.T) {
	w := newPhaseWorld(t, selecting("a", 1, v1alpha1.PolicyStatus{}))
	got := w.wait("Audit", 1)
	w.expectSlots(nil, []string{"a0", "a1", "a4", "a5"}, 0, 1)
	if got.EnforcedGeneration != 0 || got.CanaryPercent != 0 || got.RevisionMissing {
		t.Fatalf("program %+v", got)
	}
	if w.src.Chooser() != engine.EnforcedOnly {
		t.Fatal("nothing staged: the chooser must be EnforcedOnly")
	}
	m, err := w.e.NodeModelWith("n0", w.src.Chooser())
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range m.Endpoints {
		shadowed := len(ep.ShadowIngress) == 1
		if shadowed != (ep.Ref.Name != "b0") || len(ep.Ingress) != 0 {
			t.Errorf("%s: ingress %v, shadowed %v", ep.Ref.Name, ep.Ingress, ep.ShadowIngress)
		}
	}
}

func TestNoStatusImmediateIsEnforced(t *testing.T) {
	np := selecting("a", 1, v1alpha1.PolicyStatus{})
	np.Spec.Rollout = &v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate}
	w := newPhaseWorld(t, np)
	w.wait("Enforced", 1)
	w.expectSlots([]string{"a0", "a1", "a4", "a5"}, nil, 1, 0)
}

func TestStagedChooserFollowsInCanary(t *testing.T) {
	w := newPhaseWorld(t, selecting("a", 1, v1alpha1.PolicyStatus{ObservedGeneration: 1, Phase: v1alpha1.PhaseStaged, CanaryPercent: 50, CanaryEndpoints: 2}))
	got := w.wait("Staged", 1)
	if got.CanaryPercent != 50 || got.CanaryEndpoints != 2 {
		t.Fatalf("program %+v", got)
	}
	ch := w.src.Chooser()
	m, err := w.e.NodeModelWith("n0", ch)
	if err != nil {
		t.Fatal(err)
	}
	canary := 0
	for _, ep := range m.Endpoints {
		if ep.Ref.Name == "b0" {
			continue
		}
		in := rollout.InCanary(rollout.EndpointIdentity("web", ep.Ref.Name), 50)
		if in {
			canary++
		}
		if enforced := len(ep.Ingress) == 1; enforced != in || len(ep.ShadowIngress) == 1 == in {
			t.Errorf("%s (canary %v): ingress %v, shadowed %v", ep.Ref.Name, in, ep.Ingress, ep.ShadowIngress)
		}
		if slot := ch.Choose(ep.Ref, polKey); (slot == engine.SlotCandidate) != in {
			t.Errorf("%s: chooser says %d", ep.Ref.Name, slot)
		}
	}
	if canary == 0 || canary == 4 {
		t.Fatalf("the fixture needs canary and non-canary pods at 50%%; %d of 4 are in", canary)
	}
	// Other policies are never chosen as candidates.
	if ch.Choose(engine.EndpointRef{Namespace: "web", Name: "a0"}, engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "other"}) != engine.SlotEnforced {
		t.Fatal("a policy that is not Staged was chosen as candidate")
	}
}

func TestNewGenerationKeepsPreviousEnforcedFromRevision(t *testing.T) {
	gen1 := selecting("a", 1, v1alpha1.PolicyStatus{})
	w := newPhaseWorld(t,
		selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}),
		revisionOfSpec(t, gen1, 1, "web", policyUID))
	got := w.wait("Audit", 2)
	w.expectSlots([]string{"a0", "a1", "a4", "a5"}, []string{"b0"}, 1, 2)
	if got.EnforcedGeneration != 1 || got.RevisionMissing {
		t.Fatalf("program %+v", got)
	}

	// The revision is deleted: generation 1 stays enforced, and the source says so.
	before := w.dirty.Load()
	if err := w.kube.AppsV1().ControllerRevisions("web").Delete(w.ctx, "pol-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return w.src.MissingRevisions() == 1 && w.dirty.Load() > before })
	w.expectSlots([]string{"a0", "a1", "a4", "a5"}, []string{"b0"}, 1, 2)
	if p := w.src.Policies()[0]; !p.RevisionMissing || p.EnforcedGeneration != 1 {
		t.Fatalf("program %+v", p)
	}

	// Promoted: the spec is enforced, the candidate slot empties; a status change alone asks for a sync.
	before = w.dirty.Load()
	w.update(selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseEnforced, EnforcedGeneration: 2}))
	w.wait("Enforced", 2)
	if w.dirty.Load() == before {
		t.Fatal("a status change did not mark the runner dirty")
	}
	w.expectSlots([]string{"b0"}, nil, 2, 0)
	if w.src.MissingRevisions() != 0 {
		t.Fatal("an enforced spec needs no revision")
	}

	// Rolled back to generation 1 while its revision is missing: generation 2 stays (last known).
	w.update(selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}))
	w.wait("Audit", 2)
	w.expectSlots([]string{"b0"}, []string{"b0"}, 2, 2)

	// The revision comes back: generation 1 is enforced again.
	if _, err := w.kube.AppsV1().ControllerRevisions("web").Create(w.ctx, revisionOfSpec(t, gen1, 1, "web", policyUID), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { g, _ := w.src.Generation(polKey, engine.SlotEnforced); return g == 1 })
	w.expectSlots([]string{"a0", "a1", "a4", "a5"}, []string{"b0"}, 1, 2)
}

func TestMissingRevisionAtStartEnforcesTheSpec(t *testing.T) {
	w := newPhaseWorld(t, selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}))
	w.wait("Audit", 2)
	w.expectSlots([]string{"b0"}, []string{"b0"}, 2, 2)
	if w.src.MissingRevisions() != 1 {
		t.Fatal("the missing revision is not counted")
	}
}

func TestRevisionsNotOwnedOrElsewhereAreIgnored(t *testing.T) {
	gen1 := selecting("a", 1, v1alpha1.PolicyStatus{})
	stranger := revisionOfSpec(t, gen1, 1, "web", "someone-else")
	elsewhere := revisionOfSpec(t, gen1, 1, "other", policyUID)
	w := newPhaseWorld(t, selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}), stranger, elsewhere)
	w.wait("Audit", 2)
	if w.src.MissingRevisions() != 1 {
		t.Fatal("a revision not controlled by the policy, or outside its namespace, was used")
	}
	w.expectSlots([]string{"b0"}, []string{"b0"}, 2, 2)
}

func TestUnreadableRevisionCountsAsMissing(t *testing.T) {
	bad := revisionOfSpec(t, selecting("a", 1, v1alpha1.PolicyStatus{}), 1, "web", policyUID)
	bad.Data.Raw = []byte(`{"selector": 42}`)
	w := newPhaseWorld(t, selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}), bad)
	w.wait("Audit", 2)
	if w.src.MissingRevisions() != 1 {
		t.Fatal("an unreadable revision was not counted as missing")
	}
	w.expectSlots([]string{"b0"}, []string{"b0"}, 2, 2)
}

func TestDeletedPolicyLeavesBothSlots(t *testing.T) {
	w := newPhaseWorld(t, selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseStaged, EnforcedGeneration: 1, CanaryPercent: 100}),
		revisionOfSpec(t, selecting("a", 1, v1alpha1.PolicyStatus{}), 1, "web", policyUID))
	w.wait("Staged", 2)
	if err := w.dyn.Resource(npGVR).Namespace("web").Delete(w.ctx, "pol", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return len(w.src.Policies()) == 0 })
	w.expectSlots(nil, nil, 0, 0)
	if w.src.Chooser() != engine.EnforcedOnly {
		t.Fatal("a deleted policy is still staged")
	}
}

func TestEnforceAsWrittenIgnoresPhases(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(selecting("b", 2, v1alpha1.PolicyStatus{ObservedGeneration: 2, Phase: v1alpha1.PhaseAudit, EnforcedGeneration: 1}))
	if err != nil {
		t.Fatal(err)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		npGVR: "NetworkPolicyList", v1alpha1.GroupVersion.WithResource("globalnetworkpolicies"): "GlobalNetworkPolicyList",
	}, &unstructured.Unstructured{Object: u})
	e := engine.New()
	src := &Source{Engine: e, Dirty: func() {}, Log: testr.New(t), EnforceAsWritten: true}
	if err := src.Start(ctx, kubefake.NewClientset(), dyn, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { g, ok := src.Generation(polKey, engine.SlotEnforced); return ok && g == 2 })
	if _, ok := src.Generation(polKey, engine.SlotCandidate); ok {
		t.Fatal("a candidate slot is used while enforcing as written")
	}
	if p := src.Policies(); len(p) != 1 || p[0].Phase != "Enforced" || p[0].RevisionMissing {
		t.Fatalf("programs %+v", p)
	}
}
