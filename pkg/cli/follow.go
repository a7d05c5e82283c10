package cli

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// errDeleted ends following a policy that was deleted.
var errDeleted = errors.New("the policy was deleted")

// follow calls seen with the policy as it is now and after every change, until seen returns true,
// the policy is deleted (errDeleted) or ctx ends. It lists then watches from the list's resource
// version, and lists again when the API server closes the watch, so no change is missed.
func follow(ctx context.Context, c client.WithWatch, ref policyRef, seen func(policy) bool) error {
	for {
		list, opts := ref.newList(), []client.ListOption{client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", ref.name)}}
		if !ref.global {
			opts = append(opts, client.InNamespace(ref.namespace))
		}
		if err := c.List(ctx, list, opts...); err != nil {
			return fmt.Errorf("reading %s: %w", ref, err)
		}
		items := ref.items(list)
		if len(items) == 0 {
			return fmt.Errorf("%s not found", ref)
		}
		if seen(items[0]) {
			return nil
		}
		rv := list.GetResourceVersion()
		w, err := c.Watch(ctx, ref.newList(), append(opts, &client.ListOptions{Raw: rvOptions(rv)})...)
		if err != nil {
			return fmt.Errorf("watching %s: %w", ref, err)
		}
		done, err := drain(ctx, w, seen)
		w.Stop()
		if done || err != nil {
			return err
		}
	}
}

// drain reads watch events until seen is satisfied (true), the watch closes (false: list again) or
// ctx ends.
func drain(ctx context.Context, w watch.Interface, seen func(policy) bool) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case ev, ok := <-w.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Deleted:
				return false, errDeleted
			case watch.Error:
				if st := apierrors.FromObject(ev.Object); apierrors.IsResourceExpired(st) || apierrors.IsGone(st) {
					return false, nil
				}
				return false, fmt.Errorf("watching the policy: %w", apierrors.FromObject(ev.Object))
			case watch.Added, watch.Modified:
				if obj, ok := ev.Object.(client.Object); ok && seen(policyOf(obj)) {
					return true, nil
				}
			}
		}
	}
}

func (r policyRef) newList() client.ObjectList {
	if r.global {
		return &v1alpha1.GlobalNetworkPolicyList{}
	}
	return &v1alpha1.NetworkPolicyList{}
}

func (r policyRef) items(l client.ObjectList) []policy {
	var out []policy
	switch l := l.(type) {
	case *v1alpha1.NetworkPolicyList:
		for i := range l.Items {
			out = append(out, policyOf(&l.Items[i]))
		}
	case *v1alpha1.GlobalNetworkPolicyList:
		for i := range l.Items {
			out = append(out, policyOf(&l.Items[i]))
		}
	}
	return out
}

// rvOptions starts a watch where a list left off; bookmarks keep it cheap to resume.
func rvOptions(rv string) *metav1.ListOptions {
	return &metav1.ListOptions{ResourceVersion: rv, AllowWatchBookmarks: true}
}
