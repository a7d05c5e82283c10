package source

import (
	"context"
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

func TestSourceFeedsEngineAndMarksDirty(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"team": "a"}}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "p0", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n0"},
		Status:     corev1.PodStatus{PodIP: "198.18.0.10", PodIPs: []corev1.PodIP{{IP: "198.18.0.10"}}, Phase: corev1.PodRunning},
	}
	kube := kubefake.NewClientset(ns, pod)
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	np := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "deny"}, Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app == 'web'"}}}
	np.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("NetworkPolicy"))
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
		v1alpha1.GroupVersion.WithResource("networkpolicies"):       "NetworkPolicyList",
		v1alpha1.GroupVersion.WithResource("globalnetworkpolicies"): "GlobalNetworkPolicyList",
	}, np)
	e := engine.New()
	var dirty atomic.Int64
	s := &Source{Engine: e, Dirty: func() { dirty.Add(1) }, Log: testr.New(t)}
	if err := s.Start(ctx, kube, dyn, 0); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return len(e.EndpointsForIP(netip.MustParseAddr("198.18.0.10"))) == 1 })
	key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: "deny"}
	eventually(t, func() bool { return len(e.SelectedEndpoints(key, engine.SlotEnforced)) == 1 })
	if dirty.Load() == 0 {
		t.Fatal("no event marked the runner dirty")
	}
	before := dirty.Load()
	if err := kube.CoreV1().Pods("web").Delete(ctx, "p0", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool {
		return len(e.EndpointsForIP(netip.MustParseAddr("198.18.0.10"))) == 0 && dirty.Load() > before
	})
}

// eventually polls cond for up to 30 s: informer events arrive in milliseconds, but the whole-repo
// race run on 2 shared cores once took more than 5 s to deliver one.
func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 30s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestStartReturnsOnceEveryHandlerHasSeenTheInitialList: the runner's first sync follows Start at
// once and, being the first complete sync, prunes what it does not render. An informer's cache
// reports synced as soon as its initial list is in the store, while its handlers may still be
// feeding the engine; a first sync from that half-fed engine would remove the rules of the
// policies not yet delivered and open traffic they deny. Handlers here are slow (Dirty takes a
// millisecond), as an engine loading a large policy set is: every policy must be in the engine
// when Start returns.
func TestStartReturnsOnceEveryHandlerHasSeenTheInitialList(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "p0", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{NodeName: "n0"},
		Status:     corev1.PodStatus{PodIP: "198.18.0.10", PodIPs: []corev1.PodIP{{IP: "198.18.0.10"}}, Phase: corev1.PodRunning},
	}
	kube := kubefake.NewClientset(ns, pod)
	scheme := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	const policies = 100
	var objs []runtime.Object
	for i := range policies {
		np := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: fmt.Sprintf("deny-%03d", i)},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app == 'web'"}}}
		np.SetGroupVersionKind(v1alpha1.GroupVersion.WithKind("NetworkPolicy"))
		objs = append(objs, np)
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(scheme, map[schema.GroupVersionResource]string{
		v1alpha1.GroupVersion.WithResource("networkpolicies"):       "NetworkPolicyList",
		v1alpha1.GroupVersion.WithResource("globalnetworkpolicies"): "GlobalNetworkPolicyList",
	}, objs...)
	e := engine.New()
	s := &Source{Engine: e, Dirty: func() { time.Sleep(time.Millisecond) }, Log: testr.New(t)}
	if err := s.Start(ctx, kube, dyn, 0); err != nil {
		t.Fatal(err)
	}
	if got := len(e.EndpointsForIP(netip.MustParseAddr("198.18.0.10"))); got != 1 {
		t.Errorf("when Start returned, the engine held %d endpoints for the pod's IP, want 1", got)
	}
	missing := 0
	for i := range policies {
		key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: "web", Name: fmt.Sprintf("deny-%03d", i)}
		if len(e.SelectedEndpoints(key, engine.SlotEnforced)) != 1 {
			missing++
		}
	}
	if missing > 0 {
		t.Fatalf("when Start returned, %d of %d policies were not in the engine yet: a first sync would remove their rules", missing, policies)
	}
}
