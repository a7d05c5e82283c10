package v1alpha1

// Action is what a rule does with a flow it matches.
// +kubebuilder:validation:Enum=Allow;Deny;Log;Pass
type Action string

const (
	// Allow accepts the flow; no later policy, tier or profile is consulted for this direction.
	Allow Action = "Allow"
	// Deny drops the flow.
	Deny Action = "Deny"
	// Log records the flow and continues with the next rule of the same policy; it never decides.
	Log Action = "Log"
	// Pass skips the rest of the current tier and continues with the next tier.
	Pass Action = "Pass"
)

// PolicyType is a direction a policy governs.
// +kubebuilder:validation:Enum=Ingress;Egress
type PolicyType string

const (
	// PolicyTypeIngress governs traffic arriving at the selected endpoints.
	PolicyTypeIngress PolicyType = "Ingress"
	// PolicyTypeEgress governs traffic leaving the selected endpoints.
	PolicyTypeEgress PolicyType = "Egress"
)

// Rule matches flows by every criterion it sets (criteria are ANDed) and applies its action.
// Positive and negated forms of a criterion may be combined.
//
// +kubebuilder:validation:XValidation:rule="!has(self.icmp) || !has(self.icmp.code) || has(self.icmp.type)",message="ICMP code specified without an ICMP type",fieldPath=".icmp.code"
// +kubebuilder:validation:XValidation:rule="!has(self.notICMP) || !has(self.notICMP.code) || has(self.notICMP.type)",message="ICMP code specified without an ICMP type",fieldPath=".notICMP.code"
type Rule struct {
	// Action is what happens to a matching flow.
	// +required
	Action Action `json:"action"`

	// IPVersion restricts the rule to IPv4 (4) or IPv6 (6) traffic.
	// +optional
	// +kubebuilder:validation:Enum=4;6
	IPVersion *int `json:"ipVersion,omitempty"`

	// Protocol restricts the rule to one IP protocol: a name (TCP, UDP, ICMP, ICMPv6, SCTP, UDPLite)
	// or a number 1-255.
	// +optional
	Protocol *Protocol `json:"protocol,omitempty"`

	// ICMP restricts an ICMP or ICMPv6 rule to a type, or a type and code.
	// +optional
	ICMP *ICMPFields `json:"icmp,omitempty"`

	// NotProtocol excludes one IP protocol.
	// +optional
	NotProtocol *Protocol `json:"notProtocol,omitempty"`

	// NotICMP excludes an ICMP type, or type and code.
	// +optional
	NotICMP *ICMPFields `json:"notICMP,omitempty"`

	// Source matches the flow's source.
	// +optional
	Source EntityRule `json:"source,omitzero"`

	// Destination matches the flow's destination.
	// +optional
	Destination EntityRule `json:"destination,omitzero"`

	// HTTP holds layer-7 match criteria. Palisade's iptables dataplane cannot enforce them, so
	// admission rejects any rule that sets it: ignoring it would silently widen an Allow.
	// +optional
	HTTP *HTTPMatch `json:"http,omitempty"`

	// Metadata is carried to the dataplane as rule comments.
	// +optional
	Metadata *RuleMetadata `json:"metadata,omitempty"`
}

// EntityRule matches one side (source or destination) of a flow. Every field set must match.
type EntityRule struct {
	// Nets matches IPs in any of these CIDRs.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=64
	Nets []string `json:"nets,omitempty"`

	// Selector matches endpoints (and network sets) whose labels satisfy this selector expression.
	// For a namespaced policy the policy's own namespace is implied unless NamespaceSelector is set.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Selector string `json:"selector,omitempty"`

	// NamespaceSelector matches endpoints in namespaces whose labels satisfy it; "global()" matches
	// endpoints that have no namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	NamespaceSelector string `json:"namespaceSelector,omitempty"`

	// Services matches the endpoints of a Kubernetes Service.
	// +optional
	Services *ServiceMatch `json:"services,omitempty"`

	// Ports matches any of these ports (numbers, "min:max" ranges or named ports).
	// +optional
	// +kubebuilder:validation:MaxItems=50
	Ports []Port `json:"ports,omitempty"`

	// NotNets excludes IPs in any of these CIDRs.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=64
	NotNets []string `json:"notNets,omitempty"`

	// NotSelector excludes endpoints matching this selector. It is not scoped to a namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	NotSelector string `json:"notSelector,omitempty"`

	// NotPorts excludes these ports.
	// +optional
	// +kubebuilder:validation:MaxItems=50
	NotPorts []Port `json:"notPorts,omitempty"`

	// ServiceAccounts matches pods running as these service accounts.
	// +optional
	ServiceAccounts *ServiceAccountMatch `json:"serviceAccounts,omitempty"`

	// Domains matches egress destinations by DNS name. It is a Palisade extension that the enforcer
	// does not implement yet; admission rejects it until then rather than ignoring it.
	// +optional
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	Domains []string `json:"domains,omitempty"`
}

// ServiceAccountMatch matches pods by their service account.
type ServiceAccountMatch struct {
	// Names matches service accounts with any of these names.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=256
	// +kubebuilder:validation:items:MaxLength=253
	Names []string `json:"names,omitempty"`

	// Selector matches service accounts whose labels satisfy it.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Selector string `json:"selector,omitempty"`
}

// ServiceMatch names a Kubernetes Service.
type ServiceMatch struct {
	// Name of the Service.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name,omitempty"`

	// Namespace of the Service; for a namespaced policy it defaults to the policy's namespace.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Namespace string `json:"namespace,omitempty"`
}

// ICMPFields matches an ICMP type, or a type and code.
type ICMPFields struct {
	// Type is the ICMP type.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=254
	Type *int `json:"type,omitempty"`

	// Code is the ICMP code; it requires Type.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=255
	Code *int `json:"code,omitempty"`
}

// HTTPMatch holds Calico's layer-7 criteria. Palisade accepts the shape so that it can reject it with
// a clear message instead of dropping unknown fields.
type HTTPMatch struct {
	// Methods are HTTP methods.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	// +kubebuilder:validation:items:MaxLength=64
	Methods []string `json:"methods,omitempty"`

	// Paths are HTTP path matches.
	// +optional
	// +kubebuilder:validation:MaxItems=20
	Paths []HTTPPath `json:"paths,omitempty"`
}

// HTTPPath matches a path exactly or by prefix.
type HTTPPath struct {
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Exact string `json:"exact,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Prefix string `json:"prefix,omitempty"`
}

// RuleMetadata is carried to the dataplane with the rule.
type RuleMetadata struct {
	// Annotations are rendered as rule comments. Their total size is bounded by validation, as
	// Kubernetes bounds an object's annotations.
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	Annotations map[string]string `json:"annotations,omitempty"`
}
