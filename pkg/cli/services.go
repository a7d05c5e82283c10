package cli

import (
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

// loadServices gives the engine the endpoints of every Service, so that `services` rules match as
// in the cluster: the EndpointSlices of the manifests as written, and for a Service with a
// selector that has none in the manifests, the slices the EndpointSlice controller would write
// from the pods it selects (one per pod, so that a named targetPort resolves per pod). pods are
// the workload pods of the model, namespace already defaulted.
func (m *model) loadServices(set *manifest.Set, pods []*corev1.Pod) error {
	withSlices := map[engine.EndpointRef]bool{}
	for _, e := range set.EndpointSlices {
		obj := e.Object.DeepCopy()
		defaultNamespaceOf(&obj.ObjectMeta)
		s, err := engine.FromEndpointSlice(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", e.Source, err)
		}
		if s.Service == "" {
			m.warnf("%s: EndpointSlice %s/%s has no %s label: no Service owns it, so no services rule matches it", e.Source, quote(obj.Namespace), quote(obj.Name), discoveryv1.LabelServiceName)
			continue
		}
		if err := m.eng.UpsertEndpointSlice(s); err != nil {
			return fmt.Errorf("%s: loading EndpointSlice %s/%s: %w", e.Source, quote(obj.Namespace), quote(obj.Name), err)
		}
		withSlices[engine.EndpointRef{Namespace: s.Namespace, Name: s.Service}] = true
	}
	for _, e := range set.Services {
		svc := e.Object.DeepCopy()
		defaultNamespaceOf(&svc.ObjectMeta)
		ref := engine.EndpointRef{Namespace: svc.Namespace, Name: svc.Name}
		m.services[ref] = true
		if withSlices[ref] || len(svc.Spec.Selector) == 0 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		for _, pod := range pods {
			if pod.Namespace != svc.Namespace || !selects(svc.Spec.Selector, pod.Labels) {
				continue
			}
			s := serviceSlice(svc, pod)
			if len(s.Addresses) == 0 || len(s.Ports) == 0 {
				continue
			}
			if err := m.eng.UpsertEndpointSlice(s); err != nil {
				return fmt.Errorf("%s: loading the endpoints of Service %s: %w", e.Source, ref, err)
			}
		}
	}
	for ref := range withSlices {
		m.services[ref] = true
	}
	return nil
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// serviceSlice is the slice the EndpointSlice controller writes for one pod of a Service.
func serviceSlice(svc *corev1.Service, pod *corev1.Pod) engine.EndpointSlice {
	s := engine.EndpointSlice{Namespace: svc.Namespace, Name: svc.Name + "/" + pod.Name, Service: svc.Name}
	s.Addresses = append(s.Addresses, podIPs(pod)...)
	for _, sp := range svc.Spec.Ports {
		proto := sp.Protocol
		if proto == "" {
			proto = corev1.ProtocolTCP
		}
		p, ok := portProtocols[string(proto)]
		if !ok {
			continue
		}
		port, ok := targetPort(sp, proto, pod)
		if !ok {
			continue
		}
		s.Ports = append(s.Ports, engine.ServicePort{Protocol: p, Port: port})
	}
	return s
}

// targetPort resolves a Service port's targetPort on one pod: a number as is, a name by the pod's
// container ports of the same protocol, absent as the Service port.
func targetPort(sp corev1.ServicePort, proto corev1.Protocol, pod *corev1.Pod) (uint16, bool) {
	tp := sp.TargetPort
	switch {
	case tp.Type == intstr.String && tp.StrVal != "":
		for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
			for _, cp := range c.Ports {
				cpProto := cp.Protocol
				if cpProto == "" {
					cpProto = corev1.ProtocolTCP
				}
				if cp.Name == tp.StrVal && cpProto == proto && cp.ContainerPort > 0 && cp.ContainerPort <= 65535 {
					return uint16(cp.ContainerPort), true
				}
			}
		}
		return 0, false
	case tp.Type == intstr.Int && tp.IntVal > 0 && tp.IntVal <= 65535:
		return uint16(tp.IntVal), true
	case sp.Port > 0 && sp.Port <= 65535:
		return uint16(sp.Port), true
	}
	return 0, false
}

func podIPs(pod *corev1.Pod) []netip.Addr {
	var ips []string
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = append(ips, pod.Status.PodIP)
	}
	var out []netip.Addr
	for _, s := range ips {
		if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}

// warnMissingServices warns about every Service a policy names that the manifests hold neither as
// a Service nor as EndpointSlices: its rules can never match offline.
func (m *model) warnMissingServices(src manifest.Source, kind, policy, policyNS string, ingress, egress []v1alpha1.Rule) {
	for _, d := range []struct {
		dir   string
		rules []v1alpha1.Rule
	}{{"ingress", ingress}, {"egress", egress}} {
		dir := d.dir
		for i := range d.rules {
			r := &d.rules[i]
			for _, sd := range []struct {
				side string
				ent  *v1alpha1.EntityRule
			}{{"source", &r.Source}, {"destination", &r.Destination}} {
				side, ent := sd.side, sd.ent
				if ent.Services == nil || ent.Services.Name == "" {
					continue
				}
				ns := ent.Services.Namespace
				if ns == "" {
					ns = policyNS
				}
				ref := engine.EndpointRef{Namespace: ns, Name: ent.Services.Name}
				if m.services[ref] {
					continue
				}
				m.warnf("%s: %s %s: spec.%s[%d].%s.services names Service %s, which the manifests lack: the rule matches no address until its Service and pods are given", src, kind, policy, dir, i, side, quote(ref.String()))
			}
		}
	}
}
