package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// NetworkPolicy is a namespaced Calico-style network policy with a progressive rollout.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pnp,categories=palisade
// +kubebuilder:printcolumn:name="Order",type=number,JSONPath=`.spec.order`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Enforced",type=integer,JSONPath=`.status.enforcedGeneration`
// +kubebuilder:printcolumn:name="Would-Deny",type=integer,JSONPath=`.status.evidence.wouldDeny`
// +kubebuilder:printcolumn:name="In-Phase",type=date,JSONPath=`.status.phaseSince`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodesProgrammed`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NetworkPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec defaults to empty so that the schema defaults inside it (tier, rollout) apply to an
	// object written without one.
	// +kubebuilder:default={}
	Spec   NetworkPolicySpec `json:"spec,omitempty"`
	Status PolicyStatus      `json:"status,omitempty"`
}

// NetworkPolicyList is a list of NetworkPolicy.
//
// +kubebuilder:object:root=true
type NetworkPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NetworkPolicy `json:"items"`
}

// GlobalNetworkPolicy is a cluster-wide Calico-style network policy with a progressive rollout.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=gnp,categories=palisade
// +kubebuilder:printcolumn:name="Order",type=number,JSONPath=`.spec.order`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Enforced",type=integer,JSONPath=`.status.enforcedGeneration`
// +kubebuilder:printcolumn:name="Would-Deny",type=integer,JSONPath=`.status.evidence.wouldDeny`
// +kubebuilder:printcolumn:name="In-Phase",type=date,JSONPath=`.status.phaseSince`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodesProgrammed`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type GlobalNetworkPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec defaults to empty so that the schema defaults inside it (tier, rollout) apply to an
	// object written without one.
	// +kubebuilder:default={}
	Spec   GlobalNetworkPolicySpec `json:"spec,omitempty"`
	Status PolicyStatus            `json:"status,omitempty"`
}

// GlobalNetworkPolicyList is a list of GlobalNetworkPolicy.
//
// +kubebuilder:object:root=true
type GlobalNetworkPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GlobalNetworkPolicy `json:"items"`
}
