package source

import (
	"encoding/json"
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
)

// revisionDataError: a revision's .data is not a spec of the policy's kind. Such a revision is
// treated as missing.
type revisionDataError struct {
	policy engine.PolicyKey
	err    error
}

func (e *revisionDataError) Error() string {
	return fmt.Sprintf("reading the revision data of %s: %v", e.policy, e.err)
}

func (e *revisionDataError) Unwrap() error { return e.err }

func immediate(r *v1alpha1.RolloutSpec) bool {
	return r != nil && r.Strategy == v1alpha1.RolloutImmediate
}

// networkPolicyRecord reads a Palisade NetworkPolicy from the dynamic informer.
func networkPolicyRecord(obj any) (*policyRecord, error) {
	var np v1alpha1.NetworkPolicy
	if err := fromUnstructured(obj, &np); err != nil {
		return nil, err
	}
	key := engine.PolicyKey{Kind: engine.KindNetworkPolicy, Namespace: np.Namespace, Name: np.Name}
	return &policyRecord{
		key: key, uid: np.UID, generation: np.Generation, immediate: immediate(np.Spec.Rollout),
		status: np.Status, revisionNS: np.Namespace,
		store: func(e *engine.Engine, raw []byte, slot engine.Slot) error {
			c := np.DeepCopy()
			if raw != nil {
				c.Spec = v1alpha1.NetworkPolicySpec{}
				if err := json.Unmarshal(raw, &c.Spec); err != nil {
					return &revisionDataError{policy: key, err: err}
				}
			}
			return e.UpsertNetworkPolicy(c, slot)
		},
	}, nil
}

// globalNetworkPolicyRecord reads a GlobalNetworkPolicy from the dynamic informer; its revisions are
// read from revisionNS (any namespace when empty).
func globalNetworkPolicyRecord(obj any, revisionNS string) (*policyRecord, error) {
	var gnp v1alpha1.GlobalNetworkPolicy
	if err := fromUnstructured(obj, &gnp); err != nil {
		return nil, err
	}
	key := engine.PolicyKey{Kind: engine.KindGlobalNetworkPolicy, Name: gnp.Name}
	return &policyRecord{
		key: key, uid: gnp.UID, generation: gnp.Generation, immediate: immediate(gnp.Spec.Rollout),
		status: gnp.Status, revisionNS: revisionNS,
		store: func(e *engine.Engine, raw []byte, slot engine.Slot) error {
			c := gnp.DeepCopy()
			if raw != nil {
				c.Spec = v1alpha1.GlobalNetworkPolicySpec{}
				if err := json.Unmarshal(raw, &c.Spec); err != nil {
					return &revisionDataError{policy: key, err: err}
				}
			}
			return e.UpsertGlobalNetworkPolicy(c, slot)
		},
	}, nil
}

// upsertPalisade stores a Palisade policy's record and programs its slots.
func (s *Source) upsertPalisade(r *policyRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old := s.records[r.key]; old != nil {
		if old.uid != r.uid {
			// Deleted and created again under the same name (the delete was not seen): another policy.
			s.forget(r.key)
		} else {
			r.missing = old.missing
		}
	}
	s.records[r.key] = r
	s.byUID[r.uid] = r.key
	s.program(r)
}

// upsertKubernetes stores a Kubernetes NetworkPolicy: always enforced as written (no rollout).
func (s *Source) upsertKubernetes(np *networkingv1.NetworkPolicy) error {
	key := engine.PolicyKey{Kind: engine.KindKubernetesNetworkPolicy, Namespace: np.Namespace, Name: np.Name}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.Engine.UpsertKubernetesNetworkPolicy(np, engine.SlotEnforced)
	if ok, _ := storedDespite(err); ok {
		st := s.slots[key]
		st[engine.SlotEnforced] = slotState{stored: true, generation: np.Generation, origin: fromSpec}
		s.slots[key] = st
	}
	return err
}
