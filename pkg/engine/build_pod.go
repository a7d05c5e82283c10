package engine

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
)

// ErrNotWorkload is returned by FromPod for pods Calico does not treat as workload endpoints:
// host-networked pods (policy never applies to them and selectors never match them, semantics
// doc §7.3.6) and finished pods (Succeeded/Failed: their endpoint is removed and their IPs may be
// reused). Callers should delete such pods from the engine.
var ErrNotWorkload = errors.New("pod is not a workload endpoint")

// FromPod converts a Pod into an Endpoint as Calico's workload-endpoint conversion does:
// addresses from status.podIPs (or status.podIP), named ports from every container and init
// container port with a non-zero containerPort, a name or a hostPort, and protocol TCP, UDP or
// SCTP (empty means TCP).
func FromPod(pod *corev1.Pod) (Endpoint, error) {
	if pod == nil {
		return Endpoint{}, errors.New("converting pod: nil pod")
	}
	ref := pod.Namespace + "/" + pod.Name
	if pod.Spec.HostNetwork {
		return Endpoint{}, fmt.Errorf("converting pod %s: host-networked: %w", ref, ErrNotWorkload)
	}
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return Endpoint{}, fmt.Errorf("converting pod %s: phase %s: %w", ref, pod.Status.Phase, ErrNotWorkload)
	}
	ep := Endpoint{
		Namespace:      pod.Namespace,
		Name:           pod.Name,
		Labels:         maps.Clone(pod.Labels),
		ServiceAccount: pod.Spec.ServiceAccountName,
		Node:           pod.Spec.NodeName,
	}
	ips := make([]string, 0, len(pod.Status.PodIPs))
	for _, ip := range pod.Status.PodIPs {
		ips = append(ips, ip.IP)
	}
	if len(ips) == 0 && pod.Status.PodIP != "" {
		ips = append(ips, pod.Status.PodIP)
	}
	for i, s := range ips {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return Endpoint{}, fmt.Errorf("converting pod %s: status.podIPs[%d]: %w", ref, i, err)
		}
		ep.IPs = append(ep.IPs, a.Unmap())
	}
	containers := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	for _, c := range containers {
		for _, p := range c.Ports {
			if p.ContainerPort == 0 || (p.Name == "" && p.HostPort == 0) {
				continue
			}
			var proto uint8
			switch p.Protocol {
			case corev1.ProtocolTCP, "":
				proto = ProtoTCP
			case corev1.ProtocolUDP:
				proto = ProtoUDP
			case corev1.ProtocolSCTP:
				proto = ProtoSCTP
			default:
				continue
			}
			if p.ContainerPort < 0 || p.ContainerPort > 65535 {
				return Endpoint{}, fmt.Errorf("converting pod %s: container %q port %q: %d is outside 1-65535", ref, c.Name, p.Name, p.ContainerPort)
			}
			ep.Ports = append(ep.Ports, NamedPort{Name: p.Name, Protocol: proto, Port: uint16(p.ContainerPort)})
		}
	}
	return ep, nil
}

// FromNamespace converts a Namespace. UpsertNamespace adds kubernetes.io/metadata.name itself.
func FromNamespace(ns *corev1.Namespace) (Namespace, error) {
	if ns == nil || ns.Name == "" {
		return Namespace{}, errors.New("converting namespace: name is required")
	}
	return Namespace{Name: ns.Name, Labels: maps.Clone(ns.Labels)}, nil
}

// FromServiceAccount converts a ServiceAccount.
func FromServiceAccount(sa *corev1.ServiceAccount) (ServiceAccount, error) {
	if sa == nil || sa.Name == "" || sa.Namespace == "" {
		return ServiceAccount{}, errors.New("converting service account: namespace and name are required")
	}
	return ServiceAccount{Namespace: sa.Namespace, Name: sa.Name, Labels: maps.Clone(sa.Labels)}, nil
}
