package controllers

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// newFakeReconciler is a NetworkPolicy reconciler over controller-runtime's fake client holding objs,
// with the interceptor functions given.
func newFakeReconciler(t *testing.T, funcs interceptor.Funcs, objs ...client.Object) (*PolicyReconciler[*v1alpha1.NetworkPolicy], client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).
		WithStatusSubresource(&v1alpha1.NetworkPolicy{}).WithInterceptorFuncs(funcs).Build()
	return &PolicyReconciler[*v1alpha1.NetworkPolicy]{
		Client: c, Revisions: c, Clock: clocktesting.NewFakePassiveClock(t0), Namespace: "palisade-system",
		ReportInterval: 10 * time.Second, kind: networkPolicyKind(),
	}, c
}

func immediatePolicy() *v1alpha1.NetworkPolicy {
	p := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "0123abcd-1", Generation: 1}}
	p.Spec.Rollout = &v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate}
	return p
}

// A failed phase writes the status as it was, with Reconciling saying why, and leaves
// observedGeneration alone: the planner's decision (here Enforced) is not written without its revision.
func TestReconcileFailureKeepsStatus(t *testing.T) {
	boom := errors.New("revisions unavailable")
	r, c := newFakeReconciler(t, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			if _, ok := obj.(*appsv1.ControllerRevision); ok {
				return boom
			}
			return c.Create(ctx, obj, opts...)
		},
	}, immediatePolicy())
	key := types.NamespacedName{Namespace: "shop", Name: "web"}
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key})
	if !errors.Is(err, boom) {
		t.Fatalf("Reconcile error = %v, want %v", err, boom)
	}
	if res != (ctrl.Result{}) {
		t.Errorf("result = %+v, want none (the error requeues with backoff)", res)
	}
	var got v1alpha1.NetworkPolicy
	if err := c.Get(context.Background(), key, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != "" || got.Status.ObservedGeneration != 0 || got.Status.EnforcedGeneration != 0 {
		t.Errorf("status = phase %q observed %d enforced %d, want the status as it was (empty)", got.Status.Phase, got.Status.ObservedGeneration, got.Status.EnforcedGeneration)
	}
	cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionReconciling)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != ReasonReconcileError || !strings.Contains(cond.Message, boom.Error()) {
		t.Errorf("Reconciling = %+v, want True/%s naming the error", cond, ReasonReconcileError)
	}
	if !reflect.DeepEqual(got.Spec, immediatePolicy().Spec) {
		t.Errorf("spec changed: %+v", got.Spec)
	}
}

// Without the failure the same policy is enforced at once, its revision made before the status that
// names it is written, and nothing is due later.
func TestReconcileImmediate(t *testing.T) {
	r, c := newFakeReconciler(t, interceptor.Funcs{}, immediatePolicy())
	key := types.NamespacedName{Namespace: "shop", Name: "web"}
	res, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key})
	if err != nil {
		t.Fatal(err)
	}
	if res != (ctrl.Result{}) {
		t.Errorf("result = %+v, want none: an Immediate policy is not watched", res)
	}
	var got v1alpha1.NetworkPolicy
	if err := c.Get(context.Background(), key, &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Phase != v1alpha1.PhaseEnforced || got.Status.EnforcedGeneration != 1 || got.Status.ObservedGeneration != 1 {
		t.Errorf("status = phase %q enforced %d observed %d, want Enforced 1 1", got.Status.Phase, got.Status.EnforcedGeneration, got.Status.ObservedGeneration)
	}
	var revs appsv1.ControllerRevisionList
	if err := c.List(context.Background(), &revs, client.InNamespace("shop")); err != nil {
		t.Fatal(err)
	}
	if len(revs.Items) != 1 || revs.Items[0].Name != "web-0123abcd-1" || revs.Items[0].Revision != 1 {
		t.Errorf("revisions = %+v, want web-0123abcd-1 holding generation 1", revs.Items)
	}
	// Deciding again at the same time changes only the Progressing message (the planner now says
	// "enforced" instead of "enforced at once"); after that a reconcile decides nothing new and
	// writes nothing.
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), key, &got); err != nil {
		t.Fatal(err)
	}
	rv := got.ResourceVersion
	if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), key, &got); err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != rv {
		t.Errorf("an idle reconcile wrote the status (resourceVersion %s → %s)", rv, got.ResourceVersion)
	}
}
