package v1alpha1

// PolicyPerformanceHint is a hint that never changes verdicts.
// +kubebuilder:validation:Enum=AssumeNeededOnEveryNode
type PolicyPerformanceHint string

// PerfHintAssumeNeededOnEveryNode asks enforcers to pre-load the policy on every node.
const PerfHintAssumeNeededOnEveryNode PolicyPerformanceHint = "AssumeNeededOnEveryNode"

// DefaultTier is the only tier Palisade accepts until tiers land.
const DefaultTier = "default"

// PolicySpec holds the fields NetworkPolicy and GlobalNetworkPolicy share, named and typed as in
// Calico v3.
type PolicySpec struct {
	// Tier is the policy's tier. Until tiers land only "default" (or empty, meaning default) is accepted.
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:MaxLength=63
	Tier string `json:"tier,omitempty"`

	// Order decides which policy applies first: lower first, absent last. Ties are broken by name.
	// +optional
	Order *float64 `json:"order,omitempty"`

	// Ingress rules, applied in order to traffic arriving at the selected endpoints.
	// +optional
	// +kubebuilder:validation:MaxItems=1024
	Ingress []Rule `json:"ingress,omitempty"`

	// Egress rules, applied in order to traffic leaving the selected endpoints.
	// +optional
	// +kubebuilder:validation:MaxItems=1024
	Egress []Rule `json:"egress,omitempty"`

	// Selector chooses the endpoints the policy applies to; empty selects all.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Selector string `json:"selector,omitempty"`

	// Types are the directions the policy governs. When empty it is defaulted from which rule lists
	// are present. A direction governed with no rules for it denies all traffic in that direction.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=2
	Types []PolicyType `json:"types,omitempty"`

	// ServiceAccountSelector narrows the policy to pods whose service account labels match.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	ServiceAccountSelector string `json:"serviceAccountSelector,omitempty"`

	// PerformanceHints never change verdicts.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	PerformanceHints []PolicyPerformanceHint `json:"performanceHints,omitempty"`

	// Rollout says how a new generation of this policy reaches enforcement. It is a Palisade
	// extension; Calico manifests omit it and get the defaults. The defaults of tier and rollout are
	// schema defaults, filled in by the API server itself without a webhook round trip;
	// pkg/defaulting holds the same values, and test/integration/webhook keeps the two equal.
	// +optional
	// +kubebuilder:default={}
	Rollout *RolloutSpec `json:"rollout,omitempty"`
}

// NetworkPolicySpec is the spec of a namespaced policy: Calico v3 NetworkPolicySpec plus rollout.
type NetworkPolicySpec struct {
	PolicySpec `json:",inline"`
}

// GlobalNetworkPolicySpec is the spec of a cluster-wide policy: Calico v3 GlobalNetworkPolicySpec plus
// rollout.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.preDNAT) && self.preDNAT && has(self.doNotTrack) && self.doNotTrack)",message="preDNAT and doNotTrack cannot both be true"
// +kubebuilder:validation:XValidation:rule="!(has(self.preDNAT) && self.preDNAT) || !has(self.egress) || size(self.egress) == 0",message="preDNAT policy cannot have any egress rules"
// +kubebuilder:validation:XValidation:rule="!(has(self.preDNAT) && self.preDNAT) || !has(self.types) || !self.types.exists(t, t == 'Egress')",message="preDNAT policy cannot have 'Egress' type"
// +kubebuilder:validation:XValidation:rule="!((has(self.preDNAT) && self.preDNAT) || (has(self.doNotTrack) && self.doNotTrack)) || (has(self.applyOnForward) && self.applyOnForward)",message="applyOnForward must be true if either preDNAT or doNotTrack is true"
type GlobalNetworkPolicySpec struct {
	PolicySpec `json:",inline"`

	// NamespaceSelector restricts the policy to endpoints in namespaces whose labels match.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	NamespaceSelector string `json:"namespaceSelector,omitempty"`

	// DoNotTrack applies the policy before connection tracking (host endpoints only).
	// +optional
	DoNotTrack bool `json:"doNotTrack,omitempty"`

	// PreDNAT applies the policy before DNAT (host endpoints only).
	// +optional
	PreDNAT bool `json:"preDNAT,omitempty"`

	// ApplyOnForward applies the policy to traffic forwarded through host endpoints.
	// +optional
	ApplyOnForward bool `json:"applyOnForward,omitempty"`
}
