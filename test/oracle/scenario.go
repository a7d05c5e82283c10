package oracle

import (
	"bytes"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// Scenario is one cluster state: namespaces, pods, Kubernetes NetworkPolicies
// exactly as a user would apply them (policyTypes not defaulted), and IPs that
// belong to no pod.
type Scenario struct {
	Namespaces []*corev1.Namespace
	Pods       []*corev1.Pod
	Policies   []*networkingv1.NetworkPolicy
	// Externals are IPs outside the cluster's pods: some inside the pod range
	// 198.18.0.0/15 (so ipBlocks around pods cover them), some far away.
	Externals []string
}

// PortProto is a destination port and its protocol.
type PortProto struct {
	Port     int32
	Protocol corev1.Protocol
}

func (p PortProto) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

// ProbePorts are the destination ports every flow is tried on. They cover
// every protocol Kubernetes NetworkPolicy knows, the ports the generator
// names, and one port (8080) that only ranges reach.
var ProbePorts = []PortProto{
	{80, corev1.ProtocolTCP}, {81, corev1.ProtocolTCP}, {8080, corev1.ProtocolTCP},
	{80, corev1.ProtocolUDP}, {81, corev1.ProtocolUDP}, {53, corev1.ProtocolUDP},
	{80, corev1.ProtocolSCTP}, {81, corev1.ProtocolSCTP},
}

// Endpoint is one side of a flow: a pod, or a bare IP when Pod is nil.
type Endpoint struct {
	Pod *corev1.Pod
	IP  string
}

func (e Endpoint) String() string {
	if e.Pod == nil {
		return e.IP
	}
	return e.Pod.Namespace + "/" + e.Pod.Name
}

// Flow is the first packet of a connection.
type Flow struct {
	From, To Endpoint
	Port     PortProto
}

func (f Flow) String() string {
	return fmt.Sprintf("%s -> %s %s", f.From, f.To, f.Port)
}

// Flows lists every flow the comparison checks: every pod to every pod
// (itself included) on every probe port, and each pod to and from each
// external IP.
func (s *Scenario) Flows() []Flow {
	var flows []Flow
	add := func(from, to Endpoint) {
		for _, pp := range ProbePorts {
			flows = append(flows, Flow{From: from, To: to, Port: pp})
		}
	}
	for _, src := range s.Pods {
		for _, dst := range s.Pods {
			add(podEndpoint(src), podEndpoint(dst))
		}
		for _, ip := range s.Externals {
			add(podEndpoint(src), Endpoint{IP: ip})
			add(Endpoint{IP: ip}, podEndpoint(src))
		}
	}
	return flows
}

func podEndpoint(p *corev1.Pod) Endpoint { return Endpoint{Pod: p, IP: p.Status.PodIP} }

// Namespace returns the namespace object called name, or nil.
func (s *Scenario) Namespace(name string) *corev1.Namespace {
	for _, ns := range s.Namespaces {
		if ns.Name == name {
			return ns
		}
	}
	return nil
}

// YAML renders the scenario as a multi-document manifest that kubectl (and
// `kubectl palisade -f`) accepts, externals as a leading comment.
func (s *Scenario) YAML() (string, error) {
	var buf bytes.Buffer
	buf.WriteString("# external IPs: ")
	for i, ip := range s.Externals {
		if i > 0 {
			buf.WriteString(", ")
		}
		buf.WriteString(ip)
	}
	buf.WriteString("\n")
	var objs []any
	for _, ns := range s.Namespaces {
		objs = append(objs, ns)
	}
	for _, p := range s.Pods {
		objs = append(objs, p)
	}
	for _, np := range s.Policies {
		objs = append(objs, np)
	}
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return "", fmt.Errorf("rendering object %d of the scenario: %w", i, err)
		}
		buf.WriteString("---\n")
		buf.Write(stripNoise(b))
	}
	return buf.String(), nil
}

// stripNoise drops the empty creationTimestamp and status/spec fields that
// sigs.k8s.io/yaml emits for zero structs, so the YAML reads like a manifest.
func stripNoise(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimSpace(line)
		if bytes.Equal(t, []byte("creationTimestamp: null")) || bytes.Equal(t, []byte("resources: {}")) ||
			bytes.Equal(t, []byte("status: {}")) || bytes.Equal(line, []byte("spec: {}")) {
			continue
		}
		out = append(out, line)
	}
	return bytes.Join(out, []byte("\n"))
}

// portName returns the name dst gives to (port, protocol) in its container
// ports, or "" when it names none.
func portName(dst *corev1.Pod, pp PortProto) string {
	if dst == nil {
		return ""
	}
	for _, c := range dst.Spec.Containers {
		for _, cp := range c.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if cp.ContainerPort == pp.Port && proto == pp.Protocol && cp.Name != "" {
				return cp.Name
			}
		}
	}
	return ""
}
