package engine

import (
	"cmp"
	"math"
	"net/netip"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/selector"
)

// tierInfo is what the engine knows of a tier. Palisade has no Tier resource yet: the built-in
// Calico tiers are known; any other tier name behaves as Felix treats a policy whose Tier
// resource is missing (sorted after every known tier, by name, default action Deny).
type tierInfo struct {
	name        string
	known       bool
	order       float64 // +Inf when unknown
	defaultPass bool
}

var builtinTiers = map[string]*tierInfo{
	"kube-admin":         {name: "kube-admin", known: true, order: 1000, defaultPass: true},
	v1alpha1.DefaultTier: {name: v1alpha1.DefaultTier, known: true, order: 1_000_000},
	"kube-baseline":      {name: "kube-baseline", known: true, order: 10_000_000, defaultPass: true},
}

func lookupTier(name string) *tierInfo {
	if name == "" {
		name = v1alpha1.DefaultTier
	}
	if t, ok := builtinTiers[name]; ok {
		return t
	}
	return &tierInfo{name: name, order: math.Inf(1)}
}

// compareTiers is Felix's TierLess: known tiers first, then order, then name.
func compareTiers(a, b *tierInfo) int {
	if a == b {
		return 0
	}
	if a.known != b.known {
		if a.known {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.order, b.order); c != 0 {
		return c
	}
	return cmp.Compare(a.name, b.name)
}

// compiled is one generation of one policy, ready to evaluate. It is immutable once built: the
// index and concurrent readers share it.
type compiled struct {
	key      PolicyKey
	slot     Slot
	tier     *tierInfo
	order    float64  // +Inf when unset (or NaN)
	orderPtr *float64 // nil when unset; shared with traces
	sortName string

	governs [numDirections]bool
	rules   [numDirections][]rule

	subject subject

	// failClosed is set when any part of the policy could not be interpreted. The policy then
	// denies every flow in the directions it governs, at its position, for the pods its subject
	// can be read to select (see doc.go).
	failClosed bool
	errText    string

	// peers are the peer selectors this policy registered in the index (released on removal).
	peers []*peerSel
}

// comparePolicies orders policies as Felix does: tier, then order (nil = +Inf), then the
// byte-wise comparison of name/namespace/kind.
func comparePolicies(a, b *compiled) int {
	if c := compareTiers(a.tier, b.tier); c != 0 {
		return c
	}
	if c := cmp.Compare(a.order, b.order); c != 0 {
		return c
	}
	return cmp.Compare(a.sortName, b.sortName)
}

// subject says which pods a policy applies to.
type subject struct {
	// noPods: doNotTrack / preDNAT global policies apply to host endpoints only.
	noPods bool
	// unreadable: a part of the selector could not be parsed; the policy selects no pod.
	unreadable bool
	// namespace restricts namespaced policies to their namespace.
	namespace string
	// sel is evaluated against the pod's labels (own + Calico + inherited).
	sel selector.Selector
	// nsSel (GNP only) is evaluated against the namespace view (pcns.*); nil when unset.
	nsSel selector.Selector
	// saSel is evaluated against the service-account view (pcsa.*); nil when unset.
	saSel selector.Selector
	// saAbsent (GNP with serviceAccountSelector only) is Felix's combined selector, after its
	// textual all() rewrites, evaluated on the pod labels. It is used for pods without the
	// projectcalico.org/serviceaccount label, the only pods for which the rewrite of all() to
	// has(projectcalico.org/serviceaccount) changes the answer.
	saAbsent selector.Selector
}

// rule is a compiled Calico rule.
type rule struct {
	action v1alpha1.Action
	// origin is the index of the rule as written (for KNPs: the k8s rule it came from).
	origin int
	// fam[0] / fam[1]: whether the rule can match IPv4 / IPv6 packets at all (ipVersion, the
	// ICMP/ICMPv6 protocol names, and the CIDR family rule of docs/semantics.md §5.3).
	fam [2]bool

	proto, notProto uint8 // 0 = unset
	icmp, notICMP   *icmpCrit

	src, dst side
}

type icmpCrit struct {
	typ     uint8
	code    uint8
	hasCode bool
}

// side is a compiled EntityRule.
type side struct {
	// nets and notNets by family (index 0 IPv4, 1 IPv6), already filtered per family.
	nets, notNets [2][]netip.Prefix
	// netsSet / notNetsSet: the list was non-empty as written.
	netsSet, notNetsSet bool
	// netsIdx / notNetsIdx hold the same prefixes as nets / notNets, per family, merged for a
	// binary search (prefixset.go); matching reads these, never the slices.
	netsIdx, notNetsIdx [2]prefixSet
	// pos is the positive endpoint selector (selector, namespaceSelector, serviceAccounts and
	// the namespace clause of namespaced policies); nil means no restriction by selector.
	pos *peerSel
	// neg is the notSelector, unscoped; nil when unset.
	neg      *peerSel
	ports    []portCrit
	notPorts []portCrit
	// svc is the services criterion; nil when unset.
	svc *svcMatch
	// namedProto filters the named-port members: 0 = every protocol, else that protocol.
	namedProto uint8
}

type portCrit struct {
	min, max uint16
	name     string
}
