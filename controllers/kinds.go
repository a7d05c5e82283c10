package controllers

import (
	"encoding/json"
	"fmt"
	"strings"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/suggest"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// policyKind is what the generic reconciler needs to know about one policy kind. The two kinds share
// their status and rollout types; they differ in scope, spec type and how they are compiled.
type policyKind[T client.Object] struct {
	// kind is the kind as NodeReports name it.
	kind v1alpha1.PolicyKind
	// newObject returns an empty object of the kind.
	newObject func() T
	// status returns the object's status, for reading and writing in place.
	status func(T) *v1alpha1.PolicyStatus
	// rollout returns the object's spec.rollout (nil when unset).
	rollout func(T) *v1alpha1.RolloutSpec
	// spec returns the object's spec, which revisions store as JSON.
	spec func(T) any
	// compile says why the candidate cannot be compiled, or "" when it can.
	compile func(T) string
	// suggestPolicy is the object as pkg/suggest reads it.
	suggestPolicy func(T) suggest.Policy
}

// NetworkPolicyKind describes namespaced Palisade NetworkPolicies.
func networkPolicyKind() policyKind[*v1alpha1.NetworkPolicy] {
	return policyKind[*v1alpha1.NetworkPolicy]{
		kind:      v1alpha1.KindNetworkPolicy,
		newObject: func() *v1alpha1.NetworkPolicy { return &v1alpha1.NetworkPolicy{} },
		status:    func(p *v1alpha1.NetworkPolicy) *v1alpha1.PolicyStatus { return &p.Status },
		rollout:   func(p *v1alpha1.NetworkPolicy) *v1alpha1.RolloutSpec { return p.Spec.Rollout },
		spec:      func(p *v1alpha1.NetworkPolicy) any { return &p.Spec },
		compile: func(p *v1alpha1.NetworkPolicy) string {
			errs, _ := validation.ValidateNetworkPolicy(p)
			return invalidReason(errs.ToAggregate(), engine.New().UpsertNetworkPolicy(p, engine.SlotCandidate))
		},
		suggestPolicy: func(p *v1alpha1.NetworkPolicy) suggest.Policy { return suggest.Policy{NetworkPolicy: p} },
	}
}

// globalNetworkPolicyKind describes cluster-wide Palisade GlobalNetworkPolicies.
func globalNetworkPolicyKind() policyKind[*v1alpha1.GlobalNetworkPolicy] {
	return policyKind[*v1alpha1.GlobalNetworkPolicy]{
		kind:      v1alpha1.KindGlobalNetworkPolicy,
		newObject: func() *v1alpha1.GlobalNetworkPolicy { return &v1alpha1.GlobalNetworkPolicy{} },
		status:    func(p *v1alpha1.GlobalNetworkPolicy) *v1alpha1.PolicyStatus { return &p.Status },
		rollout:   func(p *v1alpha1.GlobalNetworkPolicy) *v1alpha1.RolloutSpec { return p.Spec.Rollout },
		spec:      func(p *v1alpha1.GlobalNetworkPolicy) any { return &p.Spec },
		compile: func(p *v1alpha1.GlobalNetworkPolicy) string {
			errs, _ := validation.ValidateGlobalNetworkPolicy(p)
			return invalidReason(errs.ToAggregate(), engine.New().UpsertGlobalNetworkPolicy(p, engine.SlotCandidate))
		},
		suggestPolicy: func(p *v1alpha1.GlobalNetworkPolicy) suggest.Policy {
			return suggest.Policy{GlobalNetworkPolicy: p}
		},
	}
}

// maxInvalidMessage bounds the Valid condition's message (the API allows 32768 bytes).
const maxInvalidMessage = 1024

// invalidReason joins what validation and the engine's compiler found; "" when both accept the spec.
// Admission normally refuses an invalid spec, but a policy stored before a rule tightened, or with
// admission bypassed, must still never be promoted.
func invalidReason(errs ...error) string {
	var parts []string
	for _, err := range errs {
		if err != nil {
			parts = append(parts, err.Error())
		}
	}
	msg := strings.Join(parts, "; ")
	if len(msg) > maxInvalidMessage {
		msg = msg[:maxInvalidMessage] + "…"
	}
	return msg
}

// specJSON is the spec as a revision stores it.
func specJSON(spec any) ([]byte, error) {
	raw, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encoding the policy spec: %w", err)
	}
	return raw, nil
}
