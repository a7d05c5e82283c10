package engine

import (
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"strconv"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// The dataplane model (design.md "Dataplane"): what one node must program, exported as plain
// immutable values so that the renderer (pkg/render) never reaches into the engine and never
// re-derives semantics. It says, for each pod local to the node, which policy generations apply
// per direction and in which order; for each of those generations its tier, order, directions,
// fail-closed state and compiled rules; and for each set a rule refers to (selectors, named
// ports, services, CIDR lists) its members, computed exactly as the evaluator matches them
// (match.go). Every value in a NodeModel is a copy: callers may keep it and read it from any
// goroutine, and must not write to it.

// NodeModel is a consistent snapshot of what one node enforces, taken under the engine's read
// lock.
type NodeModel struct {
	Node string
	// Endpoints are the pods on the node, sorted by namespace/name.
	Endpoints []ModelEndpoint
	// Policies are every generation some endpoint's lists refer to, sorted by ID.
	Policies []ModelPolicy
	// Sets are every set some rule of Policies refers to, sorted by ID.
	Sets []ModelSet
}

// ModelEndpoint is one local pod.
type ModelEndpoint struct {
	Ref EndpointRef
	// IPs are the pod's addresses for which it is the pod whose policies apply (the first pod
	// holding the address, by namespace/name, as the evaluator chooses). An address shared with
	// a pod that sorts first is governed by that pod and is left out here.
	IPs []netip.Addr
	// Ingress and Egress are the applicable generations in evaluation order (tier, order,
	// name). Empty means no policy applies: the pod's profile allows.
	Ingress, Egress []PolicyID
	// Sets are the IDs of the sets the endpoint's policies refer to, sorted (reverse index).
	Sets []string
	// ShadowIngress and ShadowEgress are the policies whose candidate selects the pod in that
	// direction but is not the generation enforced for it (Audit everywhere, Staged outside the
	// canary), sorted. The dataplane observes such a pod's new connections. Empty in NodeModel.
	ShadowIngress, ShadowEgress []PolicyKey
}

// Shadowed returns the shadowed candidates for one direction.
func (m *ModelEndpoint) Shadowed(dir Direction) []PolicyKey {
	if dir == Egress {
		return m.ShadowEgress
	}
	return m.ShadowIngress
}

// Policies returns the ordered list for one direction.
func (m *ModelEndpoint) Policies(dir Direction) []PolicyID {
	if dir == Egress {
		return m.Egress
	}
	return m.Ingress
}

// PolicyID names one generation of one policy.
type PolicyID struct {
	Key  PolicyKey
	Slot Slot
}

// String renders the ID as Felix's short policy ID plus the generation:
// np/<ns>/<name>, gnp/<name>, knp/<ns>/<name>, with "@candidate" for a candidate generation.
func (id PolicyID) String() string {
	s := shortKind(id.Key.Kind) + "/"
	if id.Key.Namespace != "" {
		s += id.Key.Namespace + "/"
	}
	s += id.Key.Name
	if id.Slot != SlotEnforced {
		s += "@" + id.Slot.String()
	}
	return s
}

func shortKind(k PolicyKind) string {
	switch k {
	case KindNetworkPolicy:
		return "np"
	case KindGlobalNetworkPolicy:
		return "gnp"
	case KindKubernetesNetworkPolicy:
		return "knp"
	}
	return string(k)
}

// ModelPolicy is one policy generation.
type ModelPolicy struct {
	ID PolicyID
	// Tier is the tier's name; TierDefaultPass is true when the tier's default action is Pass
	// (kube-admin, kube-baseline), false when it is Deny.
	Tier            string
	TierDefaultPass bool
	// Order is nil when the policy has no order (sorted as +Inf).
	Order *float64
	// Governs says which directions the policy governs, indexed by Direction.
	Governs [2]bool
	// FailClosed: the policy could not be interpreted; it denies every flow that reaches it in
	// the directions it governs, at its position, and has no rules. Error says why.
	FailClosed bool
	Error      string
	// Ingress and Egress are the rules in order.
	Ingress, Egress []ModelRule
}

// Rules returns the rules of one direction.
func (p *ModelPolicy) Rules(dir Direction) []ModelRule {
	if dir == Egress {
		return p.Egress
	}
	return p.Ingress
}

// ModelRule is one compiled rule; every criterion set must hold for the rule to match.
type ModelRule struct {
	Action v1alpha1.Action
	// Origin is the rule's index as written (for a Kubernetes NetworkPolicy, the k8s rule).
	Origin int
	// Families says whether the rule can match IPv4 (index 0) and IPv6 (index 1) packets at all
	// (ipVersion, icmp/icmpv6 names, and the CIDR family rule).
	Families [2]bool
	// Protocol and NotProtocol are IP protocol numbers; 0 means unset.
	Protocol, NotProtocol uint8
	// ICMP and NotICMP are nil when unset. They only ever match ICMP over IPv4 and ICMPv6 over
	// IPv6 packets.
	ICMP, NotICMP *ModelICMP
	Source        ModelSide
	Destination   ModelSide
}

// ModelICMP is an ICMP type with an optional code.
type ModelICMP struct {
	Type    uint8
	Code    uint8
	HasCode bool
}

// ModelSide is one side (source or destination) of a rule. Set IDs refer to NodeModel.Sets; ""
// means the criterion is unset.
type ModelSide struct {
	// Nets and NotNets are the CIDRs by family (0 IPv4, 1 IPv6). A rule whose list is non-empty
	// as written but empty for a family has Families false for it. NetsSet / NotNetsSet are the
	// IDs of hash:net sets with the same CIDRs (both families), for renderers that prefer a set
	// to inline addresses; "" when the list is empty.
	Nets, NotNets       [2][]netip.Prefix
	HasNets, HasNotNets bool
	NetsSet, NotNetsSet string
	// Selector is the hash:ip set of the positive selector (selector, namespaceSelector,
	// serviceAccounts and the namespace clause; a notSelector alongside is folded in as Felix
	// does); NotSelector the set of a notSelector with no positive part (the packet's address
	// must not be in it).
	Selector, NotSelector string
	// Ports and NotPorts are the numeric ranges; NamedPorts and NotNamedPorts the hash:ip,port
	// sets of the named ports, one per name. The packet's port (source port on the source side,
	// destination port on the destination side) must be in a range or its (ip, protocol, port)
	// in a named-port set; and in none of the Not lists.
	Ports, NotPorts           []PortRange
	NamedPorts, NotNamedPorts []string
	// Service is the set of services (SetService on the destination side, SetServiceNoPort on
	// the source side).
	Service string
}

// PortRange is an inclusive port range.
type PortRange struct{ Min, Max uint16 }

// SetKind says what a set stands for.
type SetKind string

// Set kinds.
const (
	// SetSelector: the addresses of every pod (cluster-wide) a rule selector matches. hash:ip.
	SetSelector SetKind = "selector"
	// SetNamedPort: (ip, protocol, port) of the named port of every pod matching the side's
	// positive selector (every pod without one), filtered by the rule's protocol. hash:ip,port.
	SetNamedPort SetKind = "named-port"
	// SetService: (ip, protocol, port) of a Service's endpoints, for destination.services.
	// hash:ip,port.
	SetService SetKind = "service"
	// SetServiceNoPort: the addresses of a Service's endpoints, for source.services. hash:ip.
	SetServiceNoPort SetKind = "service-noport"
	// SetNets: a rule's CIDR list. hash:net.
	SetNets SetKind = "nets"
)

// ModelSet is a set and its members. Exactly one of IPs, Nets, IPPorts is used, by Kind.
type ModelSet struct {
	// ID is stable and derived from what the set stands for, never from engine-internal
	// numbering: "s:" + base64url(SHA-224) of the selector (Calico's selector unique ID for a
	// plain selector, pkg/selector), "n:" for named ports, "svc:" / "svcnoport:" for services,
	// "net:" for CIDR lists.
	ID   string
	Kind SetKind
	// Description says in words what the set is (selector text, port name, service), for
	// comments.
	Description string
	IPs         []netip.Addr
	Nets        []netip.Prefix
	IPPorts     []IPPort
	// Users are the policy generations whose rules refer to the set, sorted (reverse index).
	Users []PolicyID
}

// IPPort is a member of a hash:ip,port set.
type IPPort struct {
	Addr  netip.Addr
	Proto uint8
	Port  uint16
}

// Endpoint returns the local endpoint with ref, or nil.
func (m *NodeModel) Endpoint(ref EndpointRef) *ModelEndpoint {
	for i := range m.Endpoints {
		if m.Endpoints[i].Ref == ref {
			return &m.Endpoints[i]
		}
	}
	return nil
}

// Policy returns the generation with id, or nil.
func (m *NodeModel) Policy(id PolicyID) *ModelPolicy {
	for i := range m.Policies {
		if m.Policies[i].ID == id {
			return &m.Policies[i]
		}
	}
	return nil
}

// Set returns the set with id, or nil.
func (m *NodeModel) Set(id string) *ModelSet {
	for i := range m.Sets {
		if m.Sets[i].ID == id {
			return &m.Sets[i]
		}
	}
	return nil
}

// contentID is Calico's hash.MakeUniqueID: prefix + ":" + base64url(SHA-224(prefix + ":" +
// content)), as pkg/selector computes selector IDs.
func contentID(prefix, content string) string {
	p := prefix + ":"
	sum := sha256.Sum224([]byte(p + content))
	return p + base64.RawURLEncoding.EncodeToString(sum[:])
}

// namedPortSetID mirrors Felix's named-port IP set ID: the selector's ID (empty when the side
// has none), the protocol filter and the port name.
func namedPortSetID(selID string, proto uint8, name string) string {
	return contentID("n", selID+","+protoName(proto)+","+name)
}

func protoName(p uint8) string {
	switch p {
	case 0:
		return ""
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	case ProtoSCTP:
		return "sctp"
	}
	return strconv.Itoa(int(p))
}
