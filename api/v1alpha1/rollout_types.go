package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RolloutStrategy says how a new policy generation reaches enforcement.
// +kubebuilder:validation:Enum=Progressive;Immediate
type RolloutStrategy string

const (
	// RolloutProgressive moves a generation through Audit, Staged and Enforced on evidence.
	RolloutProgressive RolloutStrategy = "Progressive"
	// RolloutImmediate enforces a generation as soon as it is programmed.
	RolloutImmediate RolloutStrategy = "Immediate"
)

// RolloutSpec says how a new generation of a policy reaches enforcement. While a new generation is
// evaluated, the last enforced generation stays enforced: evaluating a change never weakens protection.
type RolloutSpec struct {
	// Strategy is Progressive (default) or Immediate.
	// +optional
	// +kubebuilder:default=Progressive
	Strategy RolloutStrategy `json:"strategy,omitempty"`

	// Paused holds the generation in its current phase: nothing is promoted while it is set. A new
	// policy starts in Audit, so a paused new policy is only observed.
	// +optional
	Paused bool `json:"paused,omitempty"`

	// Audit configures the phase in which the candidate is evaluated in shadow and nothing is dropped
	// because of it.
	// +optional
	// +kubebuilder:default={}
	Audit *PhaseSpec `json:"audit,omitempty"`

	// Staged configures the phase in which the candidate is enforced on a canary slice of its endpoints.
	// +optional
	// +kubebuilder:default={}
	Staged *StagedPhaseSpec `json:"staged,omitempty"`

	// Rollback says when a phase steps back to Audit.
	// +optional
	// +kubebuilder:default={}
	Rollback *RollbackSpec `json:"rollback,omitempty"`
}

// PhaseSpec sets when a phase may be promoted.
type PhaseSpec struct {
	// MinDuration is the least time spent in the phase; it is also the evidence window.
	// +optional
	// +kubebuilder:default="10m0s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	MinDuration *metav1.Duration `json:"minDuration,omitempty"`

	// MaxDenials is the most denied (or would-be-denied) flows in the evidence window that still
	// allow promotion.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	MaxDenials *int64 `json:"maxDenials,omitempty"`
}

// StagedPhaseSpec configures the Staged phase.
type StagedPhaseSpec struct {
	PhaseSpec `json:",inline"`

	// CanaryPercent is the share of the selected endpoints, chosen deterministically, on which the
	// candidate is enforced while Staged.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	CanaryPercent *int32 `json:"canaryPercent,omitempty"`
}

// RollbackSpec sets when a phase steps back to Audit.
type RollbackSpec struct {
	// DeniedPerMinute is the rate of denied (or would-be-denied) flows above which a Staged or
	// Enforced generation steps back to Audit and the policy reports Degraded.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	DeniedPerMinute *int64 `json:"deniedPerMinute,omitempty"`
}
