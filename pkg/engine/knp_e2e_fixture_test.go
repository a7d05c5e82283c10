package engine_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/pkg/engine"
)

// The fixture of knp_e2e_scenarios_test.go: the e2e cluster (namespaces x,
// y, z; pods a, b, c), policy builders, and reachability matrices.

// knpScenario is one e2e-style case: the policies applied on top of the
// fixed cluster (knpE2EPods) and the expected matrix for each probed port.
type knpScenario struct {
	name     string
	policies []*networkingv1.NetworkPolicy
	probes   []knpProbe
}

type knpProbe struct {
	port  uint16
	proto corev1.Protocol
	want  string
}

// knpE2EPodNames are the matrix's rows and columns, in order.
var knpE2EPodNames = []string{"x/a", "x/b", "x/c", "y/a", "y/b", "y/c", "z/a", "z/b", "z/c"}

// knpE2ENamespaceIndex gives each namespace its /24: x 192.168.1.0/24,
// y 192.168.2.0/24, z 192.168.3.0/24; pods a, b, c are .10, .11, .12.
var knpE2ENamespaceIndex = map[string]int{"x": 1, "y": 2, "z": 3}

// knpE2EPodIP returns the IP of "ns/pod".
func knpE2EPodIP(ref string) netip.Addr {
	ns, pod, _ := strings.Cut(ref, "/")
	return netip.AddrFrom4([4]byte{192, 168, byte(knpE2ENamespaceIndex[ns]), byte(10 + pod[0] - 'a')})
}

// matrix is a reachability truth table: cells[from][to].
type matrix [9][9]bool

// parseMatrix reads a table written as in knpE2EScenarios.
func parseMatrix(t *testing.T, text string) matrix {
	t.Helper()
	var m matrix
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 10 || strings.Join(strings.Fields(lines[0]), " ") != strings.Join(knpE2EPodNames, " ") {
		t.Fatalf("bad matrix header or size in test table:\n%s", text)
	}
	for i, line := range lines[1:] {
		f := strings.Fields(line)
		if len(f) != 10 || f[0] != knpE2EPodNames[i] {
			t.Fatalf("bad matrix row %d in test table: %q", i, line)
		}
		for j, c := range f[1:] {
			switch c {
			case ".":
				m[i][j] = true
			case "X":
			default:
				t.Fatalf("bad matrix cell %q in row %q", c, line)
			}
		}
	}
	return m
}

// String renders m in the format parseMatrix reads.
func (m matrix) String() string {
	var b strings.Builder
	b.WriteString("    ")
	for _, n := range knpE2EPodNames {
		b.WriteString(" " + n + " ")
	}
	b.WriteString("\n")
	for i, row := range m {
		var line strings.Builder
		line.WriteString(knpE2EPodNames[i])
		for _, ok := range row {
			if ok {
				line.WriteString("  .  ")
			} else {
				line.WriteString("  X  ")
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return b.String()
}

func podIndex(ref string) int {
	for i, n := range knpE2EPodNames {
		if n == ref {
			return i
		}
	}
	panic("unknown pod " + ref + " in test table")
}

func allTrue() matrix {
	var m matrix
	for i := range m {
		for j := range m[i] {
			m[i][j] = true
		}
	}
	return m
}

// allConnected is the matrix of a cluster where nothing is isolated.
var allConnected = allTrue().String()

// colOnly: everything connects except that dst accepts only the listed sources.
func colOnly(dst string, srcs ...string) string {
	m := allTrue()
	j := podIndex(dst)
	for i := range m {
		m[i][j] = false
	}
	for _, s := range srcs {
		m[podIndex(s)][j] = true
	}
	return m.String()
}

// rowOnly: everything connects except that src reaches only the listed destinations.
func rowOnly(src string, dsts ...string) string {
	m := allTrue()
	i := podIndex(src)
	m[i] = [9]bool{}
	for _, d := range dsts {
		m[i][podIndex(d)] = true
	}
	return m.String()
}

// rowsDenied: everything connects except that the listed sources reach nothing.
func rowsDenied(srcs ...string) string {
	m := allTrue()
	for _, s := range srcs {
		m[podIndex(s)] = [9]bool{}
	}
	return m.String()
}

// colsDenied: everything connects except that the listed destinations accept nothing.
func colsDenied(dsts ...string) string {
	m := allTrue()
	for _, d := range dsts {
		j := podIndex(d)
		for i := range m {
			m[i][j] = false
		}
	}
	return m.String()
}

// knpE2ENamespaces are x, y, z labelled ns=<name> as in the e2e suite.
func knpE2ENamespaces() []*corev1.Namespace {
	var out []*corev1.Namespace
	for _, ns := range []string{"x", "y", "z"} {
		out = append(out, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"ns": ns}}})
	}
	return out
}

// knpE2EPods are a, b, c in each namespace, labelled pod=<name>, serving
// 80 and 81 on TCP, UDP and SCTP with the e2e's port names
// (serve-80-tcp ...), plus a port "http" that is 80/TCP in x and y but
// 81/TCP in z, to show that named ports resolve per destination pod.
func knpE2EPods() []*corev1.Pod {
	var out []*corev1.Pod
	for _, ref := range knpE2EPodNames {
		ns, name, _ := strings.Cut(ref, "/")
		var ports []corev1.ContainerPort
		for _, p := range []int32{80, 81} {
			for _, proto := range []corev1.Protocol{corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP} {
				ports = append(ports, corev1.ContainerPort{
					Name: fmt.Sprintf("serve-%d-%s", p, strings.ToLower(string(proto))), ContainerPort: p, Protocol: proto,
				})
			}
		}
		httpPort := int32(80)
		if ns == "z" {
			httpPort = 81
		}
		// A second container, as the e2e pods have one container per port.
		containers := []corev1.Container{
			{Name: "serve", Ports: ports},
			{Name: "http", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: httpPort, Protocol: corev1.ProtocolTCP}}},
		}
		ip := knpE2EPodIP(ref).String()
		out = append(out, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"pod": name}},
			Spec:       corev1.PodSpec{Containers: containers},
			Status:     corev1.PodStatus{PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}},
		})
	}
	return out
}

// knp builds a Kubernetes NetworkPolicy selecting every pod of ns unless a
// tweak says otherwise.
func knp(ns, name string, tweaks ...func(*networkingv1.NetworkPolicy)) *networkingv1.NetworkPolicy {
	np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, tw := range tweaks {
		tw(np)
	}
	return np
}

func selecting(k, v string) func(*networkingv1.NetworkPolicy) {
	return func(np *networkingv1.NetworkPolicy) { np.Spec.PodSelector = *pods(k, v) }
}

func ingressTypes() func(*networkingv1.NetworkPolicy) {
	return func(np *networkingv1.NetworkPolicy) {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress)
	}
}

func egressTypes() func(*networkingv1.NetworkPolicy) {
	return func(np *networkingv1.NetworkPolicy) {
		np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
}

// from adds one ingress rule allowing the peers on every port.
func from(peers ...networkingv1.NetworkPolicyPeer) func(*networkingv1.NetworkPolicy) {
	return ingressRule(peers)
}

func ingressRule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) func(*networkingv1.NetworkPolicy) {
	return func(np *networkingv1.NetworkPolicy) {
		np.Spec.Ingress = append(np.Spec.Ingress, networkingv1.NetworkPolicyIngressRule{From: peers, Ports: ports})
	}
}

func egressRule(peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) func(*networkingv1.NetworkPolicy) {
	return func(np *networkingv1.NetworkPolicy) {
		np.Spec.Egress = append(np.Spec.Egress, networkingv1.NetworkPolicyEgressRule{To: peers, Ports: ports})
	}
}

// pods and nss build matchLabels selectors from key, value pairs; no pairs
// gives the empty selector {} (everything).
func pods(kv ...string) *metav1.LabelSelector { return matchLabels(kv) }
func nss(kv ...string) *metav1.LabelSelector  { return matchLabels(kv) }

func matchLabels(kv []string) *metav1.LabelSelector {
	sel := &metav1.LabelSelector{}
	for i := 0; i+1 < len(kv); i += 2 {
		if sel.MatchLabels == nil {
			sel.MatchLabels = map[string]string{}
		}
		sel.MatchLabels[kv[i]] = kv[i+1]
	}
	return sel
}

func peer(p, ns *metav1.LabelSelector) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: p, NamespaceSelector: ns}
}

func ipBlock(cidr string, except ...string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: cidr, Except: except}}
}

func ptr[T any](v T) *T { return &v }

func port(proto corev1.Protocol, p int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(p)
	return networkingv1.NetworkPolicyPort{Protocol: ptr(proto), Port: &v}
}

// tcp is a port with the protocol left to its default (TCP).
func tcp(p int32) networkingv1.NetworkPolicyPort {
	v := intstr.FromInt32(p)
	return networkingv1.NetworkPolicyPort{Port: &v}
}

func namedPort(name string, proto corev1.Protocol) networkingv1.NetworkPolicyPort {
	v := intstr.FromString(name)
	np := networkingv1.NetworkPolicyPort{Port: &v}
	if proto != "" {
		np.Protocol = &proto
	}
	return np
}

func portRange(proto corev1.Protocol, from, to int32) networkingv1.NetworkPolicyPort {
	np := port(proto, from)
	np.EndPort = &to
	return np
}

func knpE2EEngine(t *testing.T, policies []*networkingv1.NetworkPolicy, reversed bool) *engine.Engine {
	t.Helper()
	e := engine.New()
	for _, ns := range knpE2ENamespaces() {
		n, err := engine.FromNamespace(ns)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.UpsertNamespace(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range knpE2EPods() {
		ep, err := engine.FromPod(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.UpsertPod(ep); err != nil {
			t.Fatal(err)
		}
	}
	for i := range policies {
		np := policies[i]
		if reversed {
			np = policies[len(policies)-1-i]
		}
		if err := e.UpsertKubernetesNetworkPolicy(np, engine.SlotEnforced); err != nil {
			t.Fatalf("loading %s/%s: %v", np.Namespace, np.Name, err)
		}
	}
	return e
}

var knpE2EProtocols = map[corev1.Protocol]uint8{
	corev1.ProtocolTCP: engine.ProtoTCP, corev1.ProtocolUDP: engine.ProtoUDP, corev1.ProtocolSCTP: engine.ProtoSCTP,
}

// reachability asks the engine about every pod pair on one port.
func reachability(t *testing.T, e *engine.Engine, port uint16, proto corev1.Protocol) matrix {
	t.Helper()
	var m matrix
	for i, from := range knpE2EPodNames {
		for j, to := range knpE2EPodNames {
			v, err := e.Evaluate(engine.Flow{
				Src: knpE2EPodIP(from), Dst: knpE2EPodIP(to),
				Protocol: knpE2EProtocols[proto], SrcPort: 40000, DstPort: port,
			}, engine.EnforcedOnly)
			if err != nil {
				t.Fatalf("evaluating %s -> %s %d/%s: %v", from, to, port, proto, err)
			}
			m[i][j] = v.Allowed
		}
	}
	return m
}
