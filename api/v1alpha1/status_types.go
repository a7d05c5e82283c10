package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RolloutPhase is where the policy's newest generation stands.
// +kubebuilder:validation:Enum=Audit;Staged;Enforced
type RolloutPhase string

const (
	// PhaseAudit evaluates the candidate in shadow: nothing is dropped because of it.
	PhaseAudit RolloutPhase = "Audit"
	// PhaseStaged enforces the candidate on a canary slice and shadows it on the rest.
	PhaseStaged RolloutPhase = "Staged"
	// PhaseEnforced enforces the candidate everywhere it applies.
	PhaseEnforced RolloutPhase = "Enforced"
)

// Condition types a policy reports. Ready, Progressing and Degraded follow kstatus conventions so that
// kubectl wait, kstatus and Argo CD read them; Reconciling and Stalled are kstatus's own "abnormal-true"
// conditions, present only while True.
const (
	ConditionValid       = "Valid"
	ConditionProgrammed  = "Programmed"
	ConditionProgressing = "Progressing"
	ConditionReady       = "Ready"
	ConditionDegraded    = "Degraded"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
)

// PolicyStatus is written by the rollout operator only.
type PolicyStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Phase is where the newest generation stands.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`

	// PhaseSince is when the current phase began.
	// +optional
	PhaseSince *metav1.Time `json:"phaseSince,omitempty"`

	// EnforcedGeneration is the newest generation enforced everywhere it applies; 0 when none is.
	// +optional
	EnforcedGeneration int64 `json:"enforcedGeneration,omitempty"`

	// PreviousEnforcedGeneration is the generation that was enforced before EnforcedGeneration; a step
	// back or a rollback enforces it again. 0 when there is none.
	// +optional
	PreviousEnforcedGeneration int64 `json:"previousEnforcedGeneration,omitempty"`

	// CanaryPercent is the share of the selected endpoints on which the candidate is enforced while
	// Staged, fixed when Staged begins; 0 in the other phases. Every enforcer and the CLI derive the
	// same canary slice from it and each endpoint's identity.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	CanaryPercent int32 `json:"canaryPercent,omitempty"`

	// CanaryEndpoints counts the selected endpoints in the canary slice while Staged.
	// +optional
	CanaryEndpoints int32 `json:"canaryEndpoints,omitempty"`

	// Controls records the control annotations (promote, pause, resume, rollback) the operator has
	// acted on, so that each request is honoured once and the spec never changes.
	// +optional
	Controls *RolloutControls `json:"controls,omitempty"`

	// Conditions: Valid, Programmed, Progressing, Ready, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// Evidence is what was observed in the current evidence window.
	// +optional
	Evidence *Evidence `json:"evidence,omitempty"`

	// NodesProgrammed counts the nodes whose enforcer programmed the current generation.
	// +optional
	NodesProgrammed int32 `json:"nodesProgrammed,omitempty"`

	// NodesDesired counts the nodes that should program the policy.
	// +optional
	NodesDesired int32 `json:"nodesDesired,omitempty"`
}

// RolloutControls records the control requests an operator has acted on. A request is the value of a
// control annotation; a value different from the one recorded here is a new request.
type RolloutControls struct {
	// Promote is the last promote request acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Promote string `json:"promote,omitempty"`
	// Pause is the last pause request acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Pause string `json:"pause,omitempty"`
	// Resume is the last resume request acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Resume string `json:"resume,omitempty"`
	// Rollback is the last rollback request acted on.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Rollback string `json:"rollback,omitempty"`
	// Paused is set by a pause request and cleared by a resume request; the rollout is held while it or
	// spec.rollout.paused is set.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// HeldGeneration is a generation that stepped back or was rolled back: it stays in Audit, however
	// clean its evidence, until a promote request or a new generation.
	// +optional
	HeldGeneration int64 `json:"heldGeneration,omitempty"`
}

// Evidence is what enforcers observed for a policy over a window.
type Evidence struct {
	// WindowStart is when the window began.
	// +optional
	WindowStart *metav1.Time `json:"windowStart,omitempty"`

	// WouldDeny counts flows the candidate would have denied while not enforced.
	// +optional
	WouldDeny int64 `json:"wouldDeny,omitempty"`

	// Denied counts flows the policy denied while enforced.
	// +optional
	Denied int64 `json:"denied,omitempty"`

	// Allowed counts flows the policy allowed.
	// +optional
	Allowed int64 `json:"allowed,omitempty"`

	// TopFlows are the most frequent denied or would-be-denied flows.
	// +optional
	// +kubebuilder:validation:MaxItems=10
	TopFlows []FlowSample `json:"topFlows,omitempty"`
}

// FlowSample describes one observed flow and how often it was seen.
type FlowSample struct {
	// Source is "namespace/pod" or an IP.
	// +kubebuilder:validation:MaxLength=320
	Source string `json:"source"`
	// Destination is "namespace/pod" or an IP.
	// +kubebuilder:validation:MaxLength=320
	Destination string `json:"destination"`
	// Protocol is the IP protocol name or number.
	// +optional
	// +kubebuilder:validation:MaxLength=16
	Protocol string `json:"protocol,omitempty"`
	// Port is the destination port, 0 when the protocol has none.
	// +optional
	Port int32 `json:"port,omitempty"`
	// Count is how many times the flow was seen in the window.
	Count int64 `json:"count"`
	// SuggestedRules would allow the flow: paste each at the top of the policy's rule list its
	// direction names (spec.ingress or spec.egress). Two when the policy would deny the flow at both
	// ends; absent when no rule can be suggested (a peer pod that no longer exists, a flow the policy
	// allows as it stands), with the reason in SuggestionNote.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2
	SuggestedRules []SuggestedRule `json:"suggestedRules,omitempty"`
	// SuggestionNote says why no rule is suggested, or what to know before pasting it.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	SuggestionNote string `json:"suggestionNote,omitempty"`
}

// SuggestedRule is an Allow rule for one direction of the policy.
type SuggestedRule struct {
	// Direction is the rule list the rule belongs to: Ingress (spec.ingress) or Egress (spec.egress).
	// +kubebuilder:validation:Enum=Ingress;Egress
	Direction PolicyType `json:"direction"`
	// Rule is the rule to paste, as the policy writes it.
	Rule Rule `json:"rule"`
}
