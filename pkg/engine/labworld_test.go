package engine_test

import (
	"bytes"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/pkg/validation"
)

// The lab's random scenarios (test/lab/random_test.go) are worlds of this package's generator,
// programmed into real enforcers and measured with packets. The lab cannot import the generator
// (it is test code), so the worlds are written here as manifests, golden files the lab reads:
// `go test ./pkg/engine -run TestLabWorlds -update` rewrites them when the generator changes.

var update = flag.Bool("update", false, "rewrite the golden lab worlds under testdata/lab-worlds")

const (
	// labWorlds is how many worlds the lab measures: the first seeds whose world keeps at least 3
	// pods and a policy once written for the lab, and denies some of the flows the lab probes (a
	// world that allows everything proves less).
	labWorlds = 20
	// labSlotsPerNamespace bounds the pods of a namespace: the lab is started once with every
	// slot, and each world fills some of them.
	labSlotsPerNamespace = 3
)

var labNamespaces = []string{"ns0", "ns1", "ns2"}

// labSlot is the fixed place of the j-th pod of namespace k: its name, node and address. Even
// slots are in 198.18.0.0/24, odd ones in 198.18.1.0/24 (the generator's 10.0.0.0/24 and
// 10.0.1.0/24, remapped), and each namespace spans both nodes.
func labSlot(k, j int) (name, node string, ip netip.Addr) {
	i := labSlotsPerNamespace*k + j
	return fmt.Sprintf("s%d", j), fmt.Sprintf("node-%d", 1+(k+j)%2), netip.AddrFrom4([4]byte{198, 18, byte(i % 2), byte(1 + i/2)})
}

// labCIDR maps the generator's addresses into the lab's range: 10.0.X.Y becomes 198.18.X.Y;
// other prefixes (0.0.0.0/0, IPv6, 192.0.2.0/24) hold no lab pod either way and stay.
func labCIDR(s string) string {
	p, err := netip.ParsePrefix(s)
	if err != nil || !p.Addr().Is4() || p.Bits() < 16 {
		return s
	}
	a := p.Addr().As4()
	if a[0] != 10 || a[1] != 0 {
		return s
	}
	a[0], a[1] = 198, 18
	return netip.PrefixFrom(netip.AddrFrom4(a), p.Bits()).String()
}

func labCIDRs(xs []string) []string {
	for i := range xs {
		xs[i] = labCIDR(xs[i])
	}
	return xs
}

func labRules(rules []v1alpha1.Rule) {
	for i := range rules {
		for _, e := range []*v1alpha1.EntityRule{&rules[i].Source, &rules[i].Destination} {
			e.Nets, e.NotNets = labCIDRs(e.Nets), labCIDRs(e.NotNets)
		}
	}
}

func labKNPPeers(peers []networkingv1.NetworkPolicyPeer) {
	for _, p := range peers {
		if p.IPBlock != nil {
			p.IPBlock.CIDR = labCIDR(p.IPBlock.CIDR)
			p.IPBlock.Except = labCIDRs(p.IPBlock.Except)
		}
	}
}

// labWorld writes the world of one seed as a lab manifest: its namespaces with their labels, its
// service accounts, its pods in the lab's slots (with their labels, service account and named
// ports), and its policies with 10.0/16 addresses moved to 198.18/16. Left out, and listed in the
// header: the pods beyond 3 in a namespace, the candidate generations (the lab enforces what is
// written), the EndpointSlices (the lab writes slices for Services only), the tiers other than
// the default one (see defaultTier) and the policies admission refuses: the lab has no webhook,
// and `kubectl palisade` evaluates what admission would refuse as absent.
// It also returns how many pods and policies it kept, and how many of the flows the lab probes
// between its pods the engine denies.
func labWorld(seed uint64) (_ []byte, counts [3]int, _ error) {
	objs, _ := engine.GenWorldForTest(seed)
	var docs []runtime.Object
	var left []string
	// kept are the scenario's objects as the engine takes them, to count its denied flows.
	var kept []any
	var ips []netip.Addr
	used := map[string]int{}
	for _, o := range objs {
		switch x := o.(type) {
		case engine.Namespace:
			kept = append(kept, x)
			docs = append(docs, &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
				ObjectMeta: metav1.ObjectMeta{Name: x.Name, Labels: x.Labels}})
		case engine.ServiceAccount:
			kept = append(kept, x)
			docs = append(docs, &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
				ObjectMeta: metav1.ObjectMeta{Namespace: x.Namespace, Name: x.Name, Labels: x.Labels}})
		case engine.Endpoint:
			k := slices.Index(labNamespaces, x.Namespace)
			j := used[x.Namespace]
			if k < 0 || j >= labSlotsPerNamespace {
				left = append(left, fmt.Sprintf("pod %s/%s (no free slot)", x.Namespace, x.Name))
				continue
			}
			used[x.Namespace]++
			counts[0]++
			name, node, ip := labSlot(k, j)
			ep := x
			ep.Name, ep.IPs, ep.Node = name, []netip.Addr{ip}, node
			kept = append(kept, ep)
			ips = append(ips, ip)
			var ports []corev1.ContainerPort
			for _, p := range x.Ports {
				proto := map[uint8]corev1.Protocol{engine.ProtoTCP: corev1.ProtocolTCP, engine.ProtoUDP: corev1.ProtocolUDP, engine.ProtoSCTP: corev1.ProtocolSCTP}[p.Protocol]
				ports = append(ports, corev1.ContainerPort{Name: p.Name, ContainerPort: int32(p.Port), Protocol: proto})
			}
			docs = append(docs, &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Namespace: x.Namespace, Name: name, Labels: x.Labels,
					Annotations: map[string]string{"palisade.dev/generated-as": x.Name}},
				Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: x.ServiceAccount,
					Containers: []corev1.Container{{Name: "main", Image: "registry.invalid/echo", Ports: ports}}},
				Status: corev1.PodStatus{PodIP: ip.String()}})
		case *v1alpha1.NetworkPolicy:
			p := x.DeepCopy()
			labRules(p.Spec.Ingress)
			labRules(p.Spec.Egress)
			left = append(left, defaultTier(&p.Spec.PolicySpec, "NetworkPolicy "+p.Namespace+"/"+p.Name)...)
			if why := refused(p); why != "" {
				left = append(left, fmt.Sprintf("NetworkPolicy %s/%s (%s)", p.Namespace, p.Name, why))
				continue
			}
			p.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "NetworkPolicy"}
			docs = append(docs, p)
			kept = append(kept, p)
			counts[1]++
		case *v1alpha1.GlobalNetworkPolicy:
			p := x.DeepCopy()
			labRules(p.Spec.Ingress)
			labRules(p.Spec.Egress)
			left = append(left, defaultTier(&p.Spec.PolicySpec, "GlobalNetworkPolicy "+p.Name)...)
			if why := refused(p); why != "" {
				left = append(left, fmt.Sprintf("GlobalNetworkPolicy %s (%s)", p.Name, why))
				continue
			}
			p.TypeMeta = metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "GlobalNetworkPolicy"}
			docs = append(docs, p)
			kept = append(kept, p)
			counts[1]++
		case *networkingv1.NetworkPolicy:
			p := x.DeepCopy()
			for i := range p.Spec.Ingress {
				labKNPPeers(p.Spec.Ingress[i].From)
			}
			for i := range p.Spec.Egress {
				labKNPPeers(p.Spec.Egress[i].To)
			}
			if errs, _ := validation.ValidateKubernetesNetworkPolicy(p); len(errs) > 0 {
				left = append(left, fmt.Sprintf("Kubernetes NetworkPolicy %s/%s (%s)", p.Namespace, p.Name, errs.ToAggregate()))
				continue
			}
			p.TypeMeta = metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"}
			docs = append(docs, p)
			kept = append(kept, p)
			counts[1]++
		case engine.EndpointSlice:
			left = append(left, fmt.Sprintf("EndpointSlice %s/%s", x.Namespace, x.Name))
		default:
			left = append(left, fmt.Sprintf("a candidate generation (%T)", o))
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Seed %d of the engine's world generator (engine.GenWorldForTest), as a lab scenario.\n", seed)
	fmt.Fprintf(&b, "# Written by pkg/engine/labworld_test.go (go test ./pkg/engine -run TestLabWorlds -update).\n")
	for _, l := range left {
		fmt.Fprintf(&b, "# left out: %s\n", l)
	}
	for i, d := range docs {
		y, err := yaml.Marshal(d)
		if err != nil {
			return nil, counts, fmt.Errorf("seed %d: rendering %T: %w", seed, d, err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	denied, err := deniedFlows(kept, ips)
	if err != nil {
		return nil, counts, fmt.Errorf("seed %d: %w", seed, err)
	}
	counts[2] = denied
	return b.Bytes(), counts, nil
}

// labProbes are the flows the lab probes between every two pods (test/lab/random_test.go).
var labProbes = []engine.Flow{
	{Protocol: engine.ProtoTCP, SrcPort: 40000, DstPort: 80},
	{Protocol: engine.ProtoTCP, SrcPort: 40000, DstPort: 8080},
	{Protocol: engine.ProtoUDP, SrcPort: 40000, DstPort: 53},
	{Protocol: engine.ProtoUDP, SrcPort: 40000, DstPort: 80},
	{Protocol: engine.ProtoICMP, ICMP: &engine.ICMPMatch{Type: 8}},
}

// deniedFlows counts the probed flows between the scenario's pods that the engine denies.
func deniedFlows(objs []any, ips []netip.Addr) (int, error) {
	e := engine.New()
	for _, o := range objs {
		if err := engine.StoreForTest(e, o); err != nil {
			return 0, fmt.Errorf("loading %T: %w", o, err)
		}
	}
	denied := 0
	for _, src := range ips {
		for _, dst := range ips {
			if src == dst {
				continue
			}
			for _, f := range labProbes {
				f.Src, f.Dst = src, dst
				v, err := e.Evaluate(f, engine.EnforcedOnly)
				if err != nil {
					return 0, fmt.Errorf("evaluating %s -> %s: %w", src, dst, err)
				}
				if !v.Allowed {
					denied++
				}
			}
		}
	}
	return denied, nil
}

// defaultTier moves a policy of another tier into the default one: admission refuses other
// tiers until tiers land, and `kubectl palisade` evaluates a policy it would refuse as absent,
// while an enforcer given one anyway (the lab has no webhook) enforces it.
func defaultTier(spec *v1alpha1.PolicySpec, what string) []string {
	if spec.Tier == "" || spec.Tier == v1alpha1.DefaultTier {
		return nil
	}
	note := fmt.Sprintf("the tier of %s (%s; written in the default tier)", what, spec.Tier)
	spec.Tier = ""
	return []string{note}
}

// refused is what admission says of a policy; empty when it would be admitted.
func refused(p runtime.Object) string {
	var errs []string
	switch x := p.(type) {
	case *v1alpha1.NetworkPolicy:
		y := x.DeepCopy()
		defaulting.NetworkPolicy(y)
		list, _ := validation.ValidateNetworkPolicy(y)
		for _, e := range list {
			errs = append(errs, e.Error())
		}
	case *v1alpha1.GlobalNetworkPolicy:
		y := x.DeepCopy()
		defaulting.GlobalNetworkPolicy(y)
		list, _ := validation.ValidateGlobalNetworkPolicy(y)
		for _, e := range list {
			errs = append(errs, e.Error())
		}
	}
	return strings.Join(errs, "; ")
}

// labSlots is the manifest the lab starts from: the namespaces and every slot's pod, unlabelled.
func labSlots() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("# Every pod slot of the lab's random scenarios (pkg/engine/labworld_test.go); each scenario\n# replaces these pods by its own, in the same slots.\n")
	for k, ns := range labNamespaces {
		y, err := yaml.Marshal(&corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if err != nil {
			return nil, err
		}
		if k > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
		for j := range labSlotsPerNamespace {
			name, node, ip := labSlot(k, j)
			y, err := yaml.Marshal(&corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "main", Image: "registry.invalid/echo"}}},
				Status:     corev1.PodStatus{PodIP: ip.String()}})
			if err != nil {
				return nil, err
			}
			b.WriteString("---\n")
			b.Write(y)
		}
	}
	return b.Bytes(), nil
}

// TestLabWorlds compares the lab's scenarios with the generator's worlds, whole; -update rewrites
// them. Every scenario must load as the lab loads it, keep at least two pods in distinct slots,
// and keep at least one policy in some scenario of every kind.
func TestLabWorlds(t *testing.T) {
	dir := filepath.Join("testdata", "lab-worlds")
	files := map[string][]byte{}
	slots, err := labSlots()
	if err != nil {
		t.Fatal(err)
	}
	files["slots.yaml"] = slots
	kinds := map[string]int{}
	for seed := uint64(0); len(files) < 1+labWorlds; seed++ {
		b, counts, err := labWorld(seed)
		if err != nil {
			t.Fatal(err)
		}
		if counts[0] < 3 || counts[1] == 0 || counts[2] == 0 {
			continue
		}
		name := fmt.Sprintf("seed-%03d.yaml", seed)
		files[name] = b
		set, err := manifest.Parse(name, b)
		if err == nil {
			err = set.Err()
		}
		if err != nil {
			t.Fatalf("%s does not load: %v", name, err)
		}
		if len(set.Pods) < 2 {
			t.Errorf("%s has %d pods", name, len(set.Pods))
		}
		ips := map[string]bool{}
		for _, p := range set.Pods {
			if ips[p.Object.Status.PodIP] {
				t.Errorf("%s: two pods at %s", name, p.Object.Status.PodIP)
			}
			ips[p.Object.Status.PodIP] = true
		}
		kinds["NetworkPolicy"] += len(set.NetworkPolicies)
		kinds["GlobalNetworkPolicy"] += len(set.GlobalNetworkPolicies)
		kinds["KubernetesNetworkPolicy"] += len(set.KubernetesNetworkPolicies)
	}
	for _, k := range []string{"NetworkPolicy", "GlobalNetworkPolicy", "KubernetesNetworkPolicy"} {
		if kinds[k] == 0 {
			t.Errorf("no scenario has a %s", k)
		}
	}
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%v (go test ./pkg/engine -run TestLabWorlds -update writes it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the generator's world (go test ./pkg/engine -run TestLabWorlds -update rewrites it)", name)
		}
	}
}
