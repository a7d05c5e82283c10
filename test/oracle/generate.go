package oracle

import (
	"fmt"
	"math/rand"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// labelSpace is the small vocabulary selectors and labels are drawn from:
// small enough that random selectors often match something.
type labelSpace struct {
	keys   []string
	values map[string][]string
}

var (
	podLabelSpace = labelSpace{
		keys:   []string{"pod", "app", "tier"},
		values: map[string][]string{"pod": {"a", "b", "c"}, "app": {"web", "db"}, "tier": {"front", "back"}},
	}
	nsLabelSpace = labelSpace{
		keys: []string{corev1.LabelMetadataName, "ns", "env", "team"},
		values: map[string][]string{
			corev1.LabelMetadataName: {"x", "y", "z"}, "ns": {"x", "y", "z"},
			"env": {"dev", "prod"}, "team": {"red", "blue"},
		},
	}
	namespaceNames = []string{"x", "y", "z"}
	podNames       = []string{"a", "b", "c"}
	// portNames is the pool of container port names; "nope" is never given
	// to a container, so rules naming it match nothing.
	portNames        = []string{"http", "web", "dns", "alt", "serve"}
	rulePortNames    = append(append([]string{}, portNames...), "nope")
	containerPorts   = append(append([]PortProto{}, ProbePorts...), PortProto{8080, corev1.ProtocolUDP})
	rulePortNumbers  = []int32{53, 80, 81, 8080}
	rangeStartPoints = []int32{53, 79, 80, 81}
	protocols        = []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP}
)

// Generate builds one random scenario from r. The same r state always yields
// the same scenario.
func Generate(r *rand.Rand) *Scenario {
	g := &generator{r: r, usedIPs: map[netip.Addr]bool{}}
	s := &Scenario{}
	for _, ns := range namespaceNames {
		s.Namespaces = append(s.Namespaces, g.namespace(ns))
	}
	for _, ns := range namespaceNames {
		for _, name := range podNames {
			s.Pods = append(s.Pods, g.pod(ns, name))
		}
	}
	// One external inside the pod range (ipBlocks built around pods often
	// cover it), one far outside it.
	s.Externals = []string{g.podIP().String(), g.pick([]string{"203.0.113.7", "10.1.2.3", "192.0.2.200"})}
	g.podIPs = nil
	for _, p := range s.Pods {
		g.podIPs = append(g.podIPs, netip.MustParseAddr(p.Status.PodIP))
	}
	g.podIPs = append(g.podIPs, netip.MustParseAddr(s.Externals[0]))
	n := g.weighted([]int{1, 3, 4, 3, 2, 1}) // 0..5 policies
	for i := 0; i < n; i++ {
		s.Policies = append(s.Policies, g.policy(i))
	}
	return s
}

type generator struct {
	r       *rand.Rand
	usedIPs map[netip.Addr]bool
	podIPs  []netip.Addr
}

func (g *generator) chance(p float64) bool { return g.r.Float64() < p }

func (g *generator) pick(xs []string) string { return xs[g.r.Intn(len(xs))] }

// weighted returns i with probability proportional to w[i].
func (g *generator) weighted(w []int) int {
	total := 0
	for _, x := range w {
		total += x
	}
	n := g.r.Intn(total)
	for i, x := range w {
		if n < x {
			return i
		}
		n -= x
	}
	return len(w) - 1
}

func (g *generator) namespace(name string) *corev1.Namespace {
	labels := map[string]string{corev1.LabelMetadataName: name}
	if g.chance(0.5) {
		labels["ns"] = name
	}
	if g.chance(0.7) {
		labels["env"] = g.pick(nsLabelSpace.values["env"])
	}
	if g.chance(0.5) {
		labels["team"] = g.pick(nsLabelSpace.values["team"])
	}
	return &corev1.Namespace{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
	}
}

func (g *generator) pod(ns, name string) *corev1.Pod {
	labels := map[string]string{}
	if g.chance(0.7) {
		labels["pod"] = name
	}
	if g.chance(0.6) {
		labels["app"] = g.pick(podLabelSpace.values["app"])
	}
	if g.chance(0.5) {
		labels["tier"] = g.pick(podLabelSpace.values["tier"])
	}
	var ports []corev1.ContainerPort
	names := g.r.Perm(len(portNames))
	for _, pp := range containerPorts {
		if len(names) == 0 || !g.chance(0.35) {
			continue
		}
		ports = append(ports, corev1.ContainerPort{Name: portNames[names[0]], ContainerPort: pp.Port, Protocol: pp.Protocol})
		names = names[1:]
	}
	ip := g.podIP()
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "registry.k8s.io/agnhost", Ports: ports}}},
		Status:     corev1.PodStatus{PodIP: ip.String(), PodIPs: []corev1.PodIP{{IP: ip.String()}}},
	}
}

// podIP returns an unused address in 198.18.0.0/15, clustered in the first
// few /24s so that random CIDRs cover several pods at once.
func (g *generator) podIP() netip.Addr {
	for {
		third := []int{0, 0, 1, 2, g.r.Intn(512)}[g.r.Intn(5)]
		b := [4]byte{198, byte(18 + third/256), byte(third % 256), byte(1 + g.r.Intn(254))}
		a := netip.AddrFrom4(b)
		if !g.usedIPs[a] {
			g.usedIPs[a] = true
			return a
		}
	}
}

func (g *generator) policy(i int) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: g.pick(namespaceNames), Name: fmt.Sprintf("np-%d", i)},
	}
	np.Spec.PodSelector = g.selector(podLabelSpace)
	switch g.weighted([]int{7, 4, 4, 3, 2}) {
	case 0: // left to the API server's defaulting
	case 1:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	case 2:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	case 3:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}
	case 4:
		np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress, networkingv1.PolicyTypeIngress}
	}
	// Rules are generated whatever the types say: rules of a direction the
	// policy does not govern must be ignored.
	switch g.weighted([]int{3, 1, 6}) {
	case 0: // absent
	case 1:
		np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{}
	case 2:
		for n := 1 + g.r.Intn(3); n > 0; n-- {
			np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: g.peers(), Ports: g.ports()})
		}
	}
	switch g.weighted([]int{3, 1, 6}) {
	case 0:
	case 1:
		np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{}
	case 2:
		for n := 1 + g.r.Intn(3); n > 0; n-- {
			np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: g.peers(), Ports: g.ports()})
		}
	}
	return np
}

// selector returns a random valid label selector; a quarter are empty ({}),
// which selects everything.
func (g *generator) selector(space labelSpace) metav1.LabelSelector {
	var sel metav1.LabelSelector
	if g.chance(0.25) {
		return sel
	}
	for n := g.r.Intn(3); n > 0; n-- {
		k := g.pick(space.keys)
		if sel.MatchLabels == nil {
			sel.MatchLabels = map[string]string{}
		}
		sel.MatchLabels[k] = g.pick(space.values[k])
	}
	for n := g.r.Intn(3); n > 0; n-- {
		k := g.pick(space.keys)
		req := metav1.LabelSelectorRequirement{Key: k}
		switch g.r.Intn(4) {
		case 0:
			req.Operator, req.Values = metav1.LabelSelectorOpIn, g.values(space.values[k])
		case 1:
			req.Operator, req.Values = metav1.LabelSelectorOpNotIn, g.values(space.values[k])
		case 2:
			req.Operator = metav1.LabelSelectorOpExists
		case 3:
			req.Operator = metav1.LabelSelectorOpDoesNotExist
		}
		sel.MatchExpressions = append(sel.MatchExpressions, req)
	}
	return sel
}

// values returns 1 or 2 distinct values of vs.
func (g *generator) values(vs []string) []string {
	perm := g.r.Perm(len(vs))
	out := []string{vs[perm[0]]}
	if len(vs) > 1 && g.chance(0.4) {
		out = append(out, vs[perm[1]])
	}
	return out
}

func (g *generator) peers() []networkingv1.NetworkPolicyPeer {
	if g.chance(0.2) {
		return nil // all sources / destinations
	}
	var peers []networkingv1.NetworkPolicyPeer
	for n := 1 + g.r.Intn(3); n > 0; n-- {
		var p networkingv1.NetworkPolicyPeer
		switch g.weighted([]int{30, 25, 20, 25}) {
		case 0:
			s := g.selector(podLabelSpace)
			p.PodSelector = &s
		case 1:
			s := g.selector(nsLabelSpace)
			p.NamespaceSelector = &s
		case 2:
			ps, ns := g.selector(podLabelSpace), g.selector(nsLabelSpace)
			p.PodSelector, p.NamespaceSelector = &ps, &ns
		case 3:
			p.IPBlock = g.ipBlock()
		}
		peers = append(peers, p)
	}
	return peers
}

func (g *generator) ipBlock() *networkingv1.IPBlock {
	var cidr netip.Prefix
	switch g.weighted([]int{2, 1, 1, 1, 15}) {
	case 0:
		cidr = netip.MustParsePrefix("0.0.0.0/0")
	case 1:
		cidr = netip.MustParsePrefix("10.0.0.0/8")
	case 2:
		cidr = netip.MustParsePrefix("198.18.0.0/15")
	case 3:
		// Another family never matches IPv4 pods.
		return &networkingv1.IPBlock{CIDR: "2001:db8::/32"}
	case 4:
		bits := []int{16, 20, 22, 23, 24, 26, 28, 30, 32}[g.r.Intn(9)]
		cidr = netip.PrefixFrom(g.podIPs[g.r.Intn(len(g.podIPs))], bits).Masked()
	}
	block := &networkingv1.IPBlock{CIDR: cidr.String()}
	if cidr.Bits() == 32 {
		return block
	}
	for n := g.weighted([]int{4, 3, 2}); n > 0; n-- {
		// An except is a strict subnet of cidr, preferably around a pod.
		var inside []netip.Addr
		for _, ip := range g.podIPs {
			if cidr.Contains(ip) {
				inside = append(inside, ip)
			}
		}
		var ip netip.Addr
		if len(inside) > 0 && g.chance(0.8) {
			ip = inside[g.r.Intn(len(inside))]
		} else {
			ip = cidr.Addr()
		}
		bits := cidr.Bits() + 1 + g.r.Intn(32-cidr.Bits())
		block.Except = append(block.Except, netip.PrefixFrom(ip, bits).Masked().String())
	}
	return block
}

func (g *generator) ports() []networkingv1.NetworkPolicyPort {
	if g.chance(0.4) {
		return nil // all ports, all protocols
	}
	var ports []networkingv1.NetworkPolicyPort
	for n := 1 + g.r.Intn(3); n > 0; n-- {
		var p networkingv1.NetworkPolicyPort
		if !g.chance(0.3) {
			proto := protocols[g.r.Intn(len(protocols))]
			p.Protocol = &proto
		}
		switch g.weighted([]int{15, 45, 25, 15}) {
		case 0: // every port of the protocol
		case 1:
			v := intstr.FromInt32(rulePortNumbers[g.r.Intn(len(rulePortNumbers))])
			p.Port = &v
		case 2:
			v := intstr.FromString(g.pick(rulePortNames))
			p.Port = &v
		case 3:
			start := rangeStartPoints[g.r.Intn(len(rangeStartPoints))]
			end := start + []int32{0, 1, 2, 8000}[g.r.Intn(4)]
			v := intstr.FromInt32(start)
			p.Port, p.EndPort = &v, &end
		}
		ports = append(ports, p)
	}
	return ports
}
