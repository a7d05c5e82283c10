package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// Bounds of a NodeReport. A report stays far below etcd's object size limit whatever the traffic: an
// enforcer that has more to say cuts it and says what it cut (spec.truncated, spec.omittedPolicies,
// spec.omittedFlows). A node with more policies than MaxReportedPolicies writes several reports (shards)
// naming the same spec.nodeName; the operator reads them together.
const (
	// MaxReportedPolicies is the most policies one NodeReport lists.
	MaxReportedPolicies = 2000
	// MaxReportedFlows is the most would-deny flows kept per policy in a NodeReport.
	MaxReportedFlows = 5
)

// NodeReport is what one node's enforcer observed and programmed for each policy under rollout. It is
// written by the enforcer of the node it names, with server-side apply from a field manager of its
// own, at most every few seconds and only when something changed; the rollout operator reads it and
// never writes it. Like a Lease it has no separate desired state: the writer's report is the spec.
// It is cluster-scoped, named after its node ("<node>" or "<node>-<shard>"), and owned by the Node
// where one exists, so that it goes away with the node.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=pnr,categories=palisade
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.spec.nodeName`
// +kubebuilder:printcolumn:name="Policies",type=integer,JSONPath=`.spec.policyCount`
// +kubebuilder:printcolumn:name="Dropped",type=integer,JSONPath=`.spec.droppedSamples`
// +kubebuilder:printcolumn:name="Truncated",type=boolean,JSONPath=`.spec.truncated`
// +kubebuilder:printcolumn:name="Reported",type=date,JSONPath=`.spec.reportTime`
type NodeReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec NodeReportSpec `json:"spec"`
}

// NodeReportSpec is one node's report.
type NodeReportSpec struct {
	// NodeName is the node that wrote the report.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	NodeName string `json:"nodeName"`

	// ReportTime is when the node wrote the report, by the node's clock. A report older than three
	// report intervals is not trusted by the operator.
	ReportTime metav1.MicroTime `json:"reportTime"`

	// DroppedSamples counts the observed packets the enforcer lost because it could not keep up (the
	// kernel's log queue overflowed or the reader was slow), since the enforcer started. Counts of a
	// window with dropped samples are lower bounds.
	// +optional
	// +kubebuilder:validation:Minimum=0
	DroppedSamples int64 `json:"droppedSamples,omitempty"`

	// PolicyCount is how many policies the node has programmed, including those cut from Policies.
	// +optional
	// +kubebuilder:validation:Minimum=0
	PolicyCount int32 `json:"policyCount,omitempty"`

	// Policies is the node's report on each policy, sorted by kind, namespace and name.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=2000
	Policies []PolicyReport `json:"policies,omitempty"`

	// Truncated is set when something was cut to keep the report bounded: policies beyond MaxItems
	// (OmittedPolicies) or flows beyond each policy's sample (OmittedFlows).
	// +optional
	Truncated bool `json:"truncated,omitempty"`

	// OmittedPolicies counts the policies cut from Policies.
	// +optional
	// +kubebuilder:validation:Minimum=0
	OmittedPolicies int32 `json:"omittedPolicies,omitempty"`

	// OmittedFlows counts the distinct would-deny flows cut from the policies' samples.
	// +optional
	// +kubebuilder:validation:Minimum=0
	OmittedFlows int64 `json:"omittedFlows,omitempty"`
}

// PolicyKind names the kind of a policy a NodeReport reports on.
// +kubebuilder:validation:Enum=NetworkPolicy;GlobalNetworkPolicy
type PolicyKind string

// Policy kinds.
const (
	KindNetworkPolicy       PolicyKind = "NetworkPolicy"
	KindGlobalNetworkPolicy PolicyKind = "GlobalNetworkPolicy"
)

// PolicyReport is one node's report on one policy: what the node has programmed, echoed from the
// policy's status, and the candidate's counts. The first four fields let the operator tell whether the
// counts are about the current decision.
type PolicyReport struct {
	// Kind is NetworkPolicy or GlobalNetworkPolicy.
	Kind PolicyKind `json:"kind"`
	// Namespace is the policy's namespace; empty for a GlobalNetworkPolicy.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`
	// Name is the policy's name.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// Generation is the candidate generation the node has programmed and counts flows for.
	// +kubebuilder:validation:Minimum=0
	Generation int64 `json:"generation"`
	// Phase is the phase the node has programmed the candidate in.
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`
	// EnforcedGeneration is the generation the node enforces for the policy's non-canary endpoints.
	// +optional
	// +kubebuilder:validation:Minimum=0
	EnforcedGeneration int64 `json:"enforcedGeneration,omitempty"`
	// WindowStart is the policy's status.evidence.windowStart the node counts Window from.
	// +optional
	WindowStart *metav1.Time `json:"windowStart,omitempty"`

	// Window counts the candidate's flows since WindowStart (the current window).
	// +optional
	Window FlowCounts `json:"window,omitempty"`
	// Recent counts the candidate's flows over the node's last complete report interval; the operator
	// reads the step-back rate from it.
	// +optional
	Recent FlowCounts `json:"recent,omitempty"`
	// PreviousWindow counts the candidate's flows in the window before WindowStart, kept for one window
	// so that what made a window start again stays visible.
	// +optional
	PreviousWindow *PreviousWindow `json:"previousWindow,omitempty"`

	// WouldDenyFlows is a sample of the flows the candidate would deny (or denied on the canary) in
	// the current window, the most frequent first.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=5
	WouldDenyFlows []ObservedFlow `json:"wouldDenyFlows,omitempty"`
}

// FlowCounts are new-connection counts for one policy generation.
type FlowCounts struct {
	// WouldDeny counts new connections the candidate would deny where it is not enforced.
	// +optional
	// +kubebuilder:validation:Minimum=0
	WouldDeny int64 `json:"wouldDeny,omitempty"`
	// Denied counts new connections the candidate denied where it is enforced (the canary in Staged).
	// +optional
	// +kubebuilder:validation:Minimum=0
	Denied int64 `json:"denied,omitempty"`
	// Allowed counts new connections the candidate allowed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Allowed int64 `json:"allowed,omitempty"`
}

// PreviousWindow is the count of a window that ended.
type PreviousWindow struct {
	// Generation and Phase are what the window counted for.
	Generation int64 `json:"generation"`
	// +optional
	Phase RolloutPhase `json:"phase,omitempty"`
	// Start and End bound the window.
	Start metav1.Time `json:"start"`
	End   metav1.Time `json:"end"`
	// Counts are the window's counts.
	Counts FlowCounts `json:"counts"`
}

// ObservedFlow is one flow a node saw, keyed by its source, destination, protocol and port.
type ObservedFlow struct {
	// Source is "namespace/pod" or an IP address.
	// +kubebuilder:validation:MaxLength=317
	Source string `json:"source"`
	// Destination is "namespace/pod" or an IP address.
	// +kubebuilder:validation:MaxLength=317
	Destination string `json:"destination"`
	// Protocol is the IP protocol name (TCP, UDP, SCTP, ICMP, ICMPv6) or number.
	// +optional
	// +kubebuilder:validation:MaxLength=8
	Protocol string `json:"protocol,omitempty"`
	// Port is the destination port, 0 when the protocol has none.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
	// Count is how many new connections of the flow were seen in the window.
	// +kubebuilder:validation:Minimum=0
	Count int64 `json:"count"`
	// FirstSeen and LastSeen bound when the flow was seen in the window.
	// +optional
	FirstSeen *metav1.Time `json:"firstSeen,omitempty"`
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`
	// Rule says which rule of the candidate denies the flow ("ingress[2]", or "default deny" when no
	// rule matched), so that the operator and the CLI can suggest a rule that would allow it.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Rule string `json:"rule,omitempty"`
}

// NodeReportList is a list of NodeReport.
//
// +kubebuilder:object:root=true
type NodeReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NodeReport `json:"items"`
}
