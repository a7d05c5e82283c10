package controllers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/cluster"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// DefaultReportInterval is how often enforcers write their NodeReports unless configured otherwise.
const DefaultReportInterval = 10 * time.Second

// Options configure the rollout controllers.
type Options struct {
	// Namespace is the operator's namespace, where GlobalNetworkPolicy revisions live. Required.
	Namespace string
	// ReportInterval is how often enforcers write their NodeReports (DefaultReportInterval when 0). It
	// must match the enforcers' setting: it bounds the step-back rate and when a report is stale.
	ReportInterval time.Duration
	// Clock gives the time of decisions; the real clock when nil. Tests inject a fake one.
	Clock clock.PassiveClock
	// Registry receives the metrics; controller-runtime's registry (served by the manager) when nil.
	Registry prometheus.Registerer
	// MaxConcurrentReconciles per kind; controller-runtime's default (1) when 0.
	MaxConcurrentReconciles int
	// ReportBatch is how long node report changes are gathered before the policies they mention are
	// reconciled (DefaultReportBatch when 0). Every node rewrites its report each interval, and each
	// rewrite concerns every policy it lists: without batching a policy would be decided, and its
	// status written, once per node per interval.
	ReportBatch time.Duration
}

// DefaultReportBatch is how long node report changes are gathered before a reconcile: half the
// default report interval, so that a policy is decided at most about twice per interval however many
// nodes report (its evidence counts change with every report, and so does its status), while a step
// back still follows a report within seconds.
const DefaultReportBatch = 5 * time.Second

// Reconcilers are the controllers Setup registered, for tests that call Reconcile directly.
type Reconcilers struct {
	NetworkPolicy       *PolicyReconciler[*v1alpha1.NetworkPolicy]
	GlobalNetworkPolicy *PolicyReconciler[*v1alpha1.GlobalNetworkPolicy]
}

// Setup registers the rollout controllers of both policy kinds with the manager. They run only on the
// elected leader (controller-runtime's default for controllers), so replicas never decide twice.
func Setup(mgr ctrl.Manager, o Options) (*Reconcilers, error) {
	rs, revisions, err := newReconcilers(mgr, o)
	if err != nil {
		return nil, err
	}
	if o.ReportBatch <= 0 {
		o.ReportBatch = DefaultReportBatch
	}
	if err := rs.NetworkPolicy.setupWithManager(mgr, revisions, o); err != nil {
		return nil, err
	}
	if err := rs.GlobalNetworkPolicy.setupWithManager(mgr, revisions, o); err != nil {
		return nil, err
	}
	return rs, nil
}

// NewReconcilers builds the reconcilers and their revision cache without registering controllers:
// nothing reconciles until the caller calls Reconcile. For benchmarks and tests that drive reconciles
// themselves; the manager must still be started (it runs the caches).
func NewReconcilers(mgr ctrl.Manager, o Options) (*Reconcilers, error) {
	rs, _, err := newReconcilers(mgr, o)
	return rs, err
}

func newReconcilers(mgr ctrl.Manager, o Options) (*Reconcilers, cluster.Cluster, error) {
	if o.Namespace == "" {
		return nil, nil, errors.New("rollout controllers: the operator's namespace is required (GlobalNetworkPolicy revisions live there)")
	}
	if o.ReportInterval <= 0 {
		o.ReportInterval = DefaultReportInterval
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Registry == nil {
		o.Registry = ctrlmetrics.Registry
	}
	m, err := NewMetrics(o.Registry)
	if err != nil {
		return nil, nil, err
	}
	revisions, err := newRevisionCluster(mgr)
	if err != nil {
		return nil, nil, err
	}
	recorder := mgr.GetEventRecorder("palisade-rollout")
	np := &PolicyReconciler[*v1alpha1.NetworkPolicy]{
		Client: mgr.GetClient(), Revisions: revisions.GetCache(), Clock: o.Clock, Recorder: recorder, Metrics: m,
		Namespace: o.Namespace, ReportInterval: o.ReportInterval, Metadata: mgr.GetAPIReader(), kind: networkPolicyKind(),
	}
	gnp := &PolicyReconciler[*v1alpha1.GlobalNetworkPolicy]{
		Client: mgr.GetClient(), Revisions: revisions.GetCache(), Clock: o.Clock, Recorder: recorder, Metrics: m,
		Namespace: o.Namespace, ReportInterval: o.ReportInterval, Metadata: mgr.GetAPIReader(), kind: globalNetworkPolicyKind(),
	}
	return &Reconcilers{NetworkPolicy: np, GlobalNetworkPolicy: gnp}, revisions, nil
}

// newRevisionCluster gives the revisions a cache of their own, restricted to Palisade's revisions by
// label: the manager's cache would otherwise hold every ControllerRevision of the cluster (each
// StatefulSet and DaemonSet keeps its history in them). Added to the manager, it starts and syncs
// before the controllers.
func newRevisionCluster(mgr ctrl.Manager) (cluster.Cluster, error) {
	ours, err := labels.NewRequirement(rollout.LabelPolicyUID, selection.Exists, nil)
	if err != nil {
		return nil, fmt.Errorf("selecting revisions: %w", err)
	}
	c, err := cluster.New(mgr.GetConfig(), func(co *cluster.Options) {
		co.Scheme = mgr.GetScheme()
		co.MapperProvider = func(*rest.Config, *http.Client) (meta.RESTMapper, error) { return mgr.GetRESTMapper(), nil }
		co.Cache.ByObject = map[client.Object]cache.ByObject{
			&appsv1.ControllerRevision{}: {Label: labels.NewSelector().Add(*ours)},
		}
	})
	if err != nil {
		return nil, fmt.Errorf("creating the revision cache: %w", err)
	}
	if err := mgr.Add(c); err != nil {
		return nil, fmt.Errorf("adding the revision cache: %w", err)
	}
	return c, nil
}

func (r *PolicyReconciler[T]) setupWithManager(mgr ctrl.Manager, revisions cluster.Cluster, o Options) error {
	owner := r.kind.newObject()
	// Status writes (ours) change neither the generation nor the annotations: they do not trigger a
	// reconcile, or a decision whose message names the time would be written again and again.
	policyChanged := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{})
	// A revision matters only when it disappears (deleted by hand): creating it is our own doing.
	revisionDeleted := predicate.TypedFuncs[*appsv1.ControllerRevision]{
		CreateFunc:  func(event.TypedCreateEvent[*appsv1.ControllerRevision]) bool { return false },
		UpdateFunc:  func(event.TypedUpdateEvent[*appsv1.ControllerRevision]) bool { return false },
		GenericFunc: func(event.TypedGenericEvent[*appsv1.ControllerRevision]) bool { return false },
		DeleteFunc:  func(event.TypedDeleteEvent[*appsv1.ControllerRevision]) bool { return true },
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named(strings.ToLower(string(r.kind.kind))+"-rollout").
		For(owner, builder.WithPredicates(policyChanged)).
		Watches(&v1alpha1.NodeReport{}, r.reportHandler(o.ReportBatch)).
		WatchesRawSource(source.Kind(revisions.GetCache(), &appsv1.ControllerRevision{},
			handler.TypedEnqueueRequestForOwner[*appsv1.ControllerRevision](mgr.GetScheme(), mgr.GetRESTMapper(), owner, handler.OnlyControllerOwner()),
			revisionDeleted))
	if o.MaxConcurrentReconciles > 0 {
		b = b.WithOptions(controller.Options{MaxConcurrentReconciles: o.MaxConcurrentReconciles})
	}
	if err := b.Complete(r); err != nil {
		return fmt.Errorf("setting up the %s rollout controller: %w", r.kind.kind, err)
	}
	return nil
}

// reportHandler enqueues the policies of this kind a node report mentions, after batch: the queue
// keeps one entry per policy, so every report change within batch leads to one reconcile. On an update
// both the old and the new report are read, so a policy dropped from a report is reconciled too.
func (r *PolicyReconciler[T]) reportHandler(batch time.Duration) handler.EventHandler {
	enqueue := func(o client.Object, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		for _, req := range r.policiesInReport(o) {
			q.AddAfter(req, batch)
		}
	}
	return handler.Funcs{
		CreateFunc: func(_ context.Context, e event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
		UpdateFunc: func(_ context.Context, e event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.ObjectOld, q)
			enqueue(e.ObjectNew, q)
		},
		DeleteFunc: func(_ context.Context, e event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
		GenericFunc: func(_ context.Context, e event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			enqueue(e.Object, q)
		},
	}
}

// policiesInReport maps a node report to the policies of this kind it mentions.
func (r *PolicyReconciler[T]) policiesInReport(o client.Object) []reconcile.Request {
	nr, ok := o.(*v1alpha1.NodeReport)
	if !ok {
		return nil
	}
	var out []reconcile.Request
	for i := range nr.Spec.Policies {
		p := &nr.Spec.Policies[i]
		if p.Kind == r.kind.kind {
			out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: p.Namespace, Name: p.Name}})
		}
	}
	return out
}

// revisionNamespace is where a policy's revisions live: its own namespace, or the operator's for a
// cluster-scoped policy.
func (r *PolicyReconciler[T]) revisionNamespace(obj T) string {
	if ns := obj.GetNamespace(); ns != "" {
		return ns
	}
	return r.Namespace
}
