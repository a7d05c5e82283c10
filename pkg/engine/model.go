package engine

import (
	"fmt"
	"net/netip"
)

// Calico label keys the engine reproduces (docs/semantics.md §1.6, §1.7).
const (
	// LabelNamespace is added to every pod with the pod's namespace.
	LabelNamespace = "projectcalico.org/namespace"
	// LabelOrchestrator is added to every pod with the value "k8s".
	LabelOrchestrator = "projectcalico.org/orchestrator"
	// LabelServiceAccount is added to a pod with its service account name, only when the name is
	// shorter than 63 characters.
	LabelServiceAccount = "projectcalico.org/serviceaccount"
	// LabelMetadataName is the label the API server adds to every namespace.
	LabelMetadataName = "kubernetes.io/metadata.name"

	// namespaceLabelPrefix and serviceAccountLabelPrefix are the prefixes of the labels a pod
	// inherits from its kns.<ns> and ksa.<ns>.<sa> profiles.
	namespaceLabelPrefix      = "pcns."
	serviceAccountLabelPrefix = "pcsa."
	// profileNameLabel is the label each profile adds for the namespace / service account name.
	profileNameLabel = "projectcalico.org/name"
	// maxServiceAccountLabelLen: Calico only adds LabelServiceAccount for names shorter than this.
	maxServiceAccountLabelLen = 63
)

// IP protocol numbers the engine needs by name.
const (
	ProtoICMP    uint8 = 1
	ProtoTCP     uint8 = 6
	ProtoUDP     uint8 = 17
	ProtoICMPv6  uint8 = 58
	ProtoSCTP    uint8 = 132
	ProtoUDPLite uint8 = 136
)

// EndpointRef names a pod.
type EndpointRef struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
}

// String renders the reference as namespace/name.
func (r EndpointRef) String() string { return r.Namespace + "/" + r.Name }

func (r EndpointRef) less(o EndpointRef) bool {
	if r.Namespace != o.Namespace {
		return r.Namespace < o.Namespace
	}
	return r.Name < o.Name
}

// NamedPort is a named container port: {name, protocol, port}. Protocol is one of ProtoTCP,
// ProtoUDP, ProtoSCTP.
type NamedPort struct {
	Name     string `json:"name"`
	Protocol uint8  `json:"protocol"`
	Port     uint16 `json:"port"`
}

// Endpoint is a pod as the engine sees it: a Calico workload endpoint. Labels are the pod's own
// labels; the engine adds the Calico labels (LabelNamespace, LabelOrchestrator,
// LabelServiceAccount) and the inherited namespace and service-account labels itself.
type Endpoint struct {
	Namespace      string
	Name           string
	Labels         map[string]string
	ServiceAccount string
	// IPs are the pod's addresses (IPv4 and/or IPv6). IPv4-mapped IPv6 addresses are unmapped.
	IPs   []netip.Addr
	Ports []NamedPort
	Node  string
}

// Ref returns the endpoint's reference.
func (e Endpoint) Ref() EndpointRef { return EndpointRef{Namespace: e.Namespace, Name: e.Name} }

// Namespace is a Kubernetes namespace. UpsertNamespace always adds
// kubernetes.io/metadata.name=<name>, as the API server does.
type Namespace struct {
	Name   string
	Labels map[string]string
}

// ServiceAccount is a Kubernetes service account; its labels are inherited by its pods as pcsa.*.
type ServiceAccount struct {
	Namespace string
	Name      string
	Labels    map[string]string
}

// PolicyKind is the Felix kind name of a policy; it takes part in the order tie-break.
type PolicyKind string

// Policy kinds, spelled as Felix spells them (docs/semantics.md §5.5).
const (
	KindNetworkPolicy           PolicyKind = "NetworkPolicy"
	KindGlobalNetworkPolicy     PolicyKind = "GlobalNetworkPolicy"
	KindKubernetesNetworkPolicy PolicyKind = "KubernetesNetworkPolicy"
)

// PolicyKey identifies a policy. Namespace is empty for a GlobalNetworkPolicy.
type PolicyKey struct {
	Kind      PolicyKind `json:"kind"`
	Namespace string     `json:"namespace,omitempty"`
	Name      string     `json:"name"`
}

// String renders the key as kind/namespace/name (kind/name for global policies).
func (k PolicyKey) String() string {
	if k.Namespace == "" {
		return string(k.Kind) + "/" + k.Name
	}
	return string(k.Kind) + "/" + k.Namespace + "/" + k.Name
}

// sortName is Felix's tie-break string: name + "/" + namespace + "/" + kind.
func (k PolicyKey) sortName() string {
	return k.Name + "/" + k.Namespace + "/" + string(k.Kind)
}

// Slot says which generation of a policy a spec is: the one enforced now, or the candidate under
// rollout.
type Slot uint8

const (
	// SlotEnforced holds the generation the dataplane enforces.
	SlotEnforced Slot = iota
	// SlotCandidate holds the generation under rollout (Audit/Staged).
	SlotCandidate
	numSlots
)

// String returns "enforced" or "candidate".
func (s Slot) String() string {
	switch s {
	case SlotEnforced:
		return "enforced"
	case SlotCandidate:
		return "candidate"
	}
	return fmt.Sprintf("Slot(%d)", uint8(s))
}

// MarshalText renders the slot as its String.
func (s Slot) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText parses "enforced" or "candidate".
func (s *Slot) UnmarshalText(b []byte) error {
	switch string(b) {
	case "enforced":
		*s = SlotEnforced
	case "candidate":
		*s = SlotCandidate
	default:
		return fmt.Errorf("parsing slot %q: want enforced or candidate", b)
	}
	return nil
}

// Mode chooses which generation of each policy an evaluation uses.
type Mode uint8

const (
	// EnforcedOnly evaluates the enforced generation of every policy; policies with only a
	// candidate are absent.
	EnforcedOnly Mode = iota
	// CandidatesAsEnforced evaluates, for every policy, its candidate where one exists and its
	// enforced generation otherwise: "what if every candidate were enforced?".
	CandidatesAsEnforced
	numModes
)

// String returns the mode's name.
func (m Mode) String() string {
	switch m {
	case EnforcedOnly:
		return "EnforcedOnly"
	case CandidatesAsEnforced:
		return "CandidatesAsEnforced"
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// Direction is a policy direction at an endpoint.
type Direction uint8

const (
	// Ingress is traffic arriving at the endpoint (the destination side of a flow).
	Ingress Direction = iota
	// Egress is traffic leaving the endpoint (the source side of a flow).
	Egress
	numDirections
)

// String returns "Ingress" or "Egress".
func (d Direction) String() string {
	if d == Egress {
		return "Egress"
	}
	return "Ingress"
}

// Flow is the first packet of a connection as the filter table sees it (after DNAT).
// Established/related packets are not modelled: they are always allowed (docs/semantics.md §5.7).
type Flow struct {
	Src, Dst netip.Addr
	// Protocol is the IP protocol number (6 TCP, 17 UDP, 132 SCTP, 1 ICMP, 58 ICMPv6, ...).
	Protocol uint8
	// SrcPort and DstPort are meaningful for TCP, UDP, SCTP and UDPLite only.
	SrcPort, DstPort uint16
	// ICMP is required for ICMP over IPv4 and ICMPv6 over IPv6, and must be nil otherwise.
	ICMP *ICMPMatch
}

// ICMPMatch is an ICMP type and code.
type ICMPMatch struct {
	Type uint8
	Code uint8
}
