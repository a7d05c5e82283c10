package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/rollout"
)

// The operator reads policies and node reports, writes policy status, keeps revisions and records
// events where the policies are.
//
// +kubebuilder:rbac:groups=policy.palisade.dev,resources=networkpolicies;globalnetworkpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy.palisade.dev,resources=networkpolicies/status;globalnetworkpolicies/status,verbs=get;patch;update
// +kubebuilder:rbac:groups=policy.palisade.dev,resources=nodereports,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=controllerrevisions,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// ReasonReconcileError is the reason of the Reconciling condition when a reconcile failed before it
// could write the planner's status.
const ReasonReconcileError = "ReconcileError"

// PolicyReconciler runs the rollout of one policy kind. The two kinds share this code through the
// kind description (policyKind); NewNetworkPolicyReconciler and NewGlobalNetworkPolicyReconciler build
// it. It is safe for concurrent reconciles of different policies (controller-runtime never runs two
// for the same one): its only state is the injected dependencies.
type PolicyReconciler[T client.Object] struct {
	// Client reads policies and node reports (from the manager's cache) and writes status and
	// revisions.
	Client client.Client
	// Revisions reads ControllerRevisions; a cache restricted to Palisade's revisions in production.
	Revisions client.Reader
	// Clock gives the time of each decision.
	Clock clock.PassiveClock
	// Recorder records an event on every transition.
	Recorder events.EventRecorder
	// Metrics counts transitions.
	Metrics *Metrics
	// Namespace holds the revisions of cluster-scoped policies: the operator's namespace.
	Namespace string
	// ReportInterval is how often enforcers write their NodeReports.
	ReportInterval time.Duration
	// Metadata reads the metadata of the pods and namespaces that top flows name, for the suggested
	// rules; the manager's uncached API reader in production (only flows not yet explained are
	// read). Nil: flows are shown without suggestions.
	Metadata client.Reader

	kind policyKind[T]
}

// scope is one reconcile's view of a policy: the object as read, its status before, what the planner
// decided, and the status to write. The phases fill it in order; the deferred patch reads it.
type scope[T client.Object] struct {
	policy T
	// original is the object as read, the base of the status patch.
	original T
	// before is the status as read.
	before v1alpha1.PolicyStatus
	now    time.Time
	// evidence is what the node reports say about the policy.
	evidence evidence
	// result is the planner's answer; planned is its status with the operator's parts (top flows)
	// filled in.
	result  rollout.Result
	planned v1alpha1.PolicyStatus
	// revisions is what the revision phase did.
	revisions revisionStep
	// invalid is why the candidate does not compile; "" when it does.
	invalid string
	// committed is set once every phase succeeded: only then is the planned status written.
	committed bool
}

// Reconcile makes one decision for one policy. Status is written once, in a deferred patch: the
// planned status when every phase succeeded (observedGeneration is the planner's, set only then),
// otherwise the status as it was with a Reconciling condition saying what failed. Spec and annotations
// are never written.
func (r *PolicyReconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (res ctrl.Result, retErr error) {
	obj := r.kind.newObject()
	if err := r.Client.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	s := &scope[T]{policy: obj, original: obj.DeepCopyObject().(T), before: *r.kind.status(obj).DeepCopy(), now: r.Clock.Now()}
	defer func() {
		if err := r.patchStatus(ctx, s, retErr); err != nil {
			retErr = errors.Join(retErr, err)
			res = ctrl.Result{}
		}
	}()
	for _, phase := range []func(context.Context, *scope[T]) error{r.gather, r.plan, r.suggestPhase, r.revisionPhase} {
		if err := phase(ctx, s); err != nil {
			return ctrl.Result{}, err
		}
	}
	s.committed = true
	return r.requeue(s), nil
}

// gather reads the node reports that mention the policy. The cache's objects are read in place, not
// copied: a node report of a large cluster lists thousands of policies, and every reconcile reads all
// of them.
func (r *PolicyReconciler[T]) gather(ctx context.Context, s *scope[T]) error {
	var list v1alpha1.NodeReportList
	if err := r.Client.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("listing node reports: %w", err)
	}
	s.evidence = gatherEvidence(list.Items, policyRef{kind: r.kind.kind, namespace: s.policy.GetNamespace(), name: s.policy.GetName()})
	return nil
}

// plan asks the planner.
func (r *PolicyReconciler[T]) plan(_ context.Context, s *scope[T]) error {
	obj := s.policy
	s.invalid = r.kind.compile(obj)
	s.result = rollout.Plan(rollout.Input{
		Generation:     obj.GetGeneration(),
		Deleting:       !obj.GetDeletionTimestamp().IsZero(),
		Spec:           r.kind.rollout(obj),
		Status:         s.before,
		Annotations:    obj.GetAnnotations(),
		Invalid:        s.invalid,
		Nodes:          s.evidence.nodes,
		Reports:        s.evidence.reports,
		ReportInterval: r.ReportInterval,
		Now:            s.now,
	})
	s.planned = s.result.Status
	if s.planned.Evidence != nil && s.result.Decision.Action != rollout.ActionNone {
		s.planned.Evidence.TopFlows = r.flowsToShow(s)
	}
	return nil
}

// flowsToShow chooses status.evidence.topFlows: the would-deny flows of the current window; when it has
// none yet, those of the window just closed, then the ones shown before. A window over tolerance starts
// again as soon as a node reports it, so without this the flows that held the policy back would vanish
// from status the moment they were seen. Older flows are kept only while the generation and phase are
// the same: they are about this candidate, and status.evidence's counts say what the current window
// holds.
func (r *PolicyReconciler[T]) flowsToShow(s *scope[T]) []v1alpha1.FlowSample {
	gen := s.policy.GetGeneration()
	staleBefore := s.now.Add(-rollout.StaleReports * r.ReportInterval)
	if flows := topFlows(s.evidence, &s.planned, gen, staleBefore); flows != nil {
		return flows
	}
	if s.before.ObservedGeneration != gen || s.before.Phase != s.planned.Phase || s.before.Evidence == nil {
		return nil
	}
	if flows := topFlows(s.evidence, &s.before, gen, staleBefore); flows != nil {
		return flows
	}
	return s.before.Evidence.TopFlows
}

// suggestPhase explains the top flows with rules that would allow them; it never fails the decision.
func (r *PolicyReconciler[T]) suggestPhase(ctx context.Context, s *scope[T]) error {
	if s.policy.GetDeletionTimestamp().IsZero() && s.invalid == "" {
		r.suggestRules(ctx, s)
	}
	return nil
}

// revisionPhase keeps the revisions the planned status names; nothing is kept for a policy being
// deleted (its revisions go with it).
func (r *PolicyReconciler[T]) revisionPhase(ctx context.Context, s *scope[T]) error {
	if !s.policy.GetDeletionTimestamp().IsZero() {
		return nil
	}
	step, err := r.reconcileRevisions(ctx, s)
	s.revisions = step
	return err
}

// requeue asks to be called again when the planner's next decision is due; with no time named, only a
// change (edit, annotation, node report) brings the next decision.
func (r *PolicyReconciler[T]) requeue(s *scope[T]) ctrl.Result {
	if s.result.RequeueAt.IsZero() {
		return ctrl.Result{}
	}
	after := s.result.RequeueAt.Sub(s.now)
	if after <= 0 {
		after = time.Millisecond // due already: decide again at once, through the queue's rate limit
	}
	return ctrl.Result{RequeueAfter: after}
}

// patchStatus writes the status once. The patch carries the resourceVersion read, so a decision made
// from a stale cache fails with a conflict and is made again, instead of overwriting a newer decision.
func (r *PolicyReconciler[T]) patchStatus(ctx context.Context, s *scope[T], failure error) error {
	st := r.kind.status(s.policy)
	if s.committed {
		*st = s.planned
	} else {
		*st = *s.before.DeepCopy()
		if failure == nil {
			return nil
		}
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: v1alpha1.ConditionReconciling, Status: metav1.ConditionTrue, Reason: ReasonReconcileError,
			Message: truncateMessage(failure.Error()), ObservedGeneration: s.policy.GetGeneration(),
			LastTransitionTime: metav1.NewTime(s.now),
		})
	}
	if equality.Semantic.DeepEqual(st, r.kind.status(s.original)) {
		return nil
	}
	patch := client.MergeFromWithOptions(s.original, client.MergeFromWithOptimisticLock{})
	if err := r.Client.Status().Patch(ctx, s.policy, patch); err != nil {
		return fmt.Errorf("patching status of %s: %w", klog.KObj(s.policy), err)
	}
	if s.committed {
		r.record(ctx, s)
	}
	return nil
}

func truncateMessage(s string) string {
	const most = 1024
	if len(s) > most {
		return s[:most] + "…"
	}
	return s
}
