package controllers

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/pkg/rollout"
)

// revisionName is the name of the revision of generation gen of a policy. The UID's first group keeps
// a policy deleted and created again under the same name from meeting its predecessor's revisions
// (they are garbage collected, but not at once); enforcers find revisions by label, never by name.
func revisionName(policyName, uid string, gen int64) string {
	suffix := "-" + strconv.FormatInt(gen, 10)
	if len(uid) >= 8 {
		suffix = "-" + uid[:8] + suffix
	}
	const most = 253
	if len(policyName)+len(suffix) > most {
		policyName = policyName[:most-len(suffix)]
	}
	return policyName + suffix
}

// wantedRevisions are the generations whose revisions must exist: the enforced and the previous good
// generation of a status (0 is none).
func wantedRevisions(st ...int64) []int64 {
	var out []int64
	for _, g := range st {
		if g != 0 && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// revisionStep is what reconcileRevisions did, for the caller's events and logs.
type revisionStep struct {
	created, pruned []int64
	// missing are wanted generations that have no revision and are no longer the spec, so nothing can
	// make one: a revision deleted by hand. Enforcers cannot program such a generation.
	missing []int64
}

// reconcileRevisions makes the revisions of the new status's generations exist and prunes the
// revisions no status names. A revision can only be made for the current generation (its spec is the
// policy's spec); every other generation's was made when it was the current one. Pruning spares the
// generations the old status names too: the new status is not written yet, and until it is, enforcers
// may still read the old one.
func (r *PolicyReconciler[T]) reconcileRevisions(ctx context.Context, s *scope[T]) (revisionStep, error) {
	var step revisionStep
	obj := s.policy
	ns := r.revisionNamespace(obj)
	uid := string(obj.GetUID())
	var list appsv1.ControllerRevisionList
	if err := r.Revisions.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{rollout.LabelPolicyUID: uid}); err != nil {
		return step, fmt.Errorf("listing revisions of %s: %w", klog.KObj(obj), err)
	}
	have := map[int64]*appsv1.ControllerRevision{}
	for i := range list.Items {
		have[list.Items[i].Revision] = &list.Items[i]
	}
	want := wantedRevisions(s.planned.EnforcedGeneration, s.planned.PreviousEnforcedGeneration)
	keep := wantedRevisions(append(want, s.before.EnforcedGeneration, s.before.PreviousEnforcedGeneration)...)
	for _, gen := range want {
		if have[gen] != nil {
			continue
		}
		if gen != obj.GetGeneration() {
			step.missing = append(step.missing, gen)
			continue
		}
		if err := r.createRevision(ctx, s, ns, gen); err != nil {
			return step, err
		}
		step.created = append(step.created, gen)
	}
	for gen, rev := range have {
		if slices.Contains(keep, gen) {
			continue
		}
		if err := r.Client.Delete(ctx, rev, client.Preconditions{UID: &rev.UID}); client.IgnoreNotFound(err) != nil {
			return step, fmt.Errorf("pruning revision %s: %w", klog.KObj(rev), err)
		}
		step.pruned = append(step.pruned, gen)
	}
	slices.Sort(step.pruned)
	if len(step.created)+len(step.pruned) > 0 {
		log.FromContext(ctx).V(1).Info("revisions updated", "created", step.created, "pruned", step.pruned)
	}
	return step, nil
}

func (r *PolicyReconciler[T]) createRevision(ctx context.Context, s *scope[T], ns string, gen int64) error {
	obj := s.policy
	raw, err := specJSON(r.kind.spec(obj))
	if err != nil {
		return err
	}
	rev := &appsv1.ControllerRevision{
		ObjectMeta: metav1.ObjectMeta{
			Name:      revisionName(obj.GetName(), string(obj.GetUID()), gen),
			Namespace: ns,
			Labels:    rollout.RevisionLabels(obj.GetUID(), gen),
		},
		Revision: gen,
		Data:     runtime.RawExtension{Raw: raw},
	}
	// The policy is the revision's controller: the garbage collector deletes the revision with it,
	// also a GlobalNetworkPolicy's (a namespaced object may be owned by a cluster-scoped one).
	if err := controllerutil.SetControllerReference(obj, rev, r.Client.Scheme()); err != nil {
		return fmt.Errorf("owning revision %s: %w", klog.KObj(rev), err)
	}
	if err := r.Client.Create(ctx, rev); err != nil {
		if apierrors.IsAlreadyExists(err) {
			// The revision cache lagged behind an earlier create of ours: the generation's spec is
			// immutable, so the existing revision is the same.
			return nil
		}
		return fmt.Errorf("creating revision %s: %w", klog.KObj(rev), err)
	}
	return nil
}
