package lab

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/test/lab/topology"
)

// sliceManager marks the EndpointSlices the lab writes: no kube-controller-manager runs in the
// lab, so nothing else would create them, and an enforcer needs them for `services` rules.
const sliceManager = "palisade-lab"

// createServices creates the manifest's Services (the API server assigns their cluster IPs) and,
// for those with a selector, the EndpointSlices the endpoint-slice controller would write: one per
// distinct set of resolved ports, listing the selected pods with their lab IPs.
func (l *Lab) createServices(ctx context.Context) error {
	for _, svc := range l.objects.services {
		s := svc.DeepCopy()
		clearServerFields(&s.ObjectMeta)
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
		}
		s.Status = corev1.ServiceStatus{}
		if err := l.Client.Create(ctx, s); err != nil {
			return fmt.Errorf("creating service %s/%s: %w", s.Namespace, s.Name, err)
		}
		for _, slice := range l.endpointSlices(s) {
			if err := l.Client.Create(ctx, slice); err != nil {
				return fmt.Errorf("creating endpoint slice %s/%s: %w", slice.Namespace, slice.Name, err)
			}
		}
	}
	return nil
}

// endpointSlices computes the EndpointSlices of a Service, as the endpoint-slice controller groups
// pods: by the ports their containers resolve the service's target ports to.
func (l *Lab) endpointSlices(svc *corev1.Service) []*discoveryv1.EndpointSlice {
	if len(svc.Spec.Selector) == 0 {
		return nil
	}
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	type group struct {
		ports     []discoveryv1.EndpointPort
		endpoints []discoveryv1.Endpoint
	}
	groups := map[string]*group{}
	var order []string
	for _, pod := range l.objects.pods {
		if pod.Namespace != svc.Namespace || !sel.Matches(labels.Set(pod.Labels)) {
			continue
		}
		ref := pod.Namespace + "/" + pod.Name
		i := slices.IndexFunc(l.Plan.Pods, func(p topology.Pod) bool { return p.Ref == ref })
		planned := l.Plan.Pods[i]
		var ports []discoveryv1.EndpointPort
		var key []string
		for _, sp := range svc.Spec.Ports {
			num, ok := resolveTargetPort(pod, sp)
			if !ok {
				continue
			}
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			ports = append(ports, discoveryv1.EndpointPort{Name: ptr.To(sp.Name), Protocol: ptr.To(proto), Port: ptr.To(num)})
			key = append(key, sp.Name+"="+strconv.Itoa(int(num)))
		}
		k := strings.Join(key, ",")
		g, ok := groups[k]
		if !ok {
			g = &group{ports: ports}
			groups[k] = g
			order = append(order, k)
		}
		g.endpoints = append(g.endpoints, discoveryv1.Endpoint{
			Addresses:  []string{planned.IP.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true), Serving: ptr.To(true), Terminating: ptr.To(false)},
			NodeName:   ptr.To(planned.Node),
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name},
		})
	}
	var out []*discoveryv1.EndpointSlice
	for i, k := range order {
		g := groups[k]
		out = append(out, &discoveryv1.EndpointSlice{
			ObjectMeta: metav1.ObjectMeta{
				Name:      svc.Name + "-lab-" + strconv.Itoa(i),
				Namespace: svc.Namespace,
				Labels: map[string]string{
					discoveryv1.LabelServiceName: svc.Name,
					discoveryv1.LabelManagedBy:   sliceManager,
				},
			},
			AddressType: discoveryv1.AddressTypeIPv4,
			Endpoints:   g.endpoints,
			Ports:       g.ports,
		})
	}
	return out
}

// resolveTargetPort returns the container port a service port sends to on pod: the target port's
// number (the service port when unset), or the container port of that name.
func resolveTargetPort(pod *corev1.Pod, sp corev1.ServicePort) (int32, bool) {
	switch {
	case sp.TargetPort.Type == intstr.String && sp.TargetPort.StrVal != "":
		for _, c := range pod.Spec.Containers {
			for _, cp := range c.Ports {
				proto := cp.Protocol
				if proto == "" {
					proto = corev1.ProtocolTCP
				}
				want := sp.Protocol
				if want == "" {
					want = corev1.ProtocolTCP
				}
				if cp.Name == sp.TargetPort.StrVal && proto == want {
					return cp.ContainerPort, true
				}
			}
		}
		return 0, false
	case sp.TargetPort.Type == intstr.Int && sp.TargetPort.IntVal != 0:
		return sp.TargetPort.IntVal, true
	}
	return sp.Port, true
}
