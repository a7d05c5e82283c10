package engine

import (
	"errors"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// TestUpsertErrorKinds pins which failures leave the engine unchanged (NotStoredError) and which
// store a policy that fails closed (InvalidPolicyError): callers report them differently.
func TestUpsertErrorKinds(t *testing.T) {
	bad := "&&"
	tests := []struct {
		name       string
		upsert     func(e *Engine) error
		notStored  bool
		failClosed bool
	}{
		{"nil NetworkPolicy", func(e *Engine) error { return e.UpsertNetworkPolicy(nil, SlotEnforced) }, true, false},
		{"NetworkPolicy without name", func(e *Engine) error {
			return e.UpsertNetworkPolicy(&v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a"}}, SlotEnforced)
		}, true, false},
		{"GlobalNetworkPolicy without name", func(e *Engine) error {
			return e.UpsertGlobalNetworkPolicy(&v1alpha1.GlobalNetworkPolicy{}, SlotEnforced)
		}, true, false},
		{"Kubernetes NetworkPolicy without namespace", func(e *Engine) error {
			return e.UpsertKubernetesNetworkPolicy(&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, SlotEnforced)
		}, true, false},
		{"unknown slot", func(e *Engine) error {
			return e.UpsertGlobalNetworkPolicy(&v1alpha1.GlobalNetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, numSlots)
		}, true, false},
		{"unreadable selector", func(e *Engine) error {
			return e.UpsertNetworkPolicy(&v1alpha1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p"},
				Spec:       v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: bad}},
			}, SlotEnforced)
		}, false, true},
		{"valid", func(e *Engine) error {
			return e.UpsertNetworkPolicy(&v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "p"}}, SlotEnforced)
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := New()
			err := tt.upsert(e)
			var ns *NotStoredError
			var ip *InvalidPolicyError
			if got := errors.As(err, &ns); got != tt.notStored {
				t.Errorf("NotStoredError = %v, want %v (err %v)", got, tt.notStored, err)
			}
			if got := errors.As(err, &ip); got != tt.failClosed {
				t.Errorf("InvalidPolicyError = %v, want %v (err %v)", got, tt.failClosed, err)
			}
			if tt.notStored && len(e.policies) != 0 {
				t.Errorf("a refused object was stored: %v", e.policies)
			}
		})
	}
}
