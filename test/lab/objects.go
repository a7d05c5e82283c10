package lab

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab/topology"
)

// defaultNamespace is where objects that name no namespace go, as with kubectl.
const defaultNamespace = "default"

// objectSet is a manifest's objects, copied, with namespaces defaulted and a Namespace object for
// every namespace they use.
type objectSet struct {
	namespaces      []*corev1.Namespace
	serviceAccounts []*corev1.ServiceAccount
	services        []*corev1.Service
	pods            []*corev1.Pod
	knps            []*networkingv1.NetworkPolicy
	nps             []*v1alpha1.NetworkPolicy
	gnps            []*v1alpha1.GlobalNetworkPolicy
}

func newObjectSet(set *manifest.Set) (*objectSet, error) {
	o := &objectSet{}
	byName := map[string]bool{}
	for _, e := range set.Namespaces {
		ns := e.Object.DeepCopy()
		if byName[ns.Name] {
			return nil, fmt.Errorf("%s: namespace %s is defined twice", e.Source, ns.Name)
		}
		byName[ns.Name] = true
		o.namespaces = append(o.namespaces, ns)
	}
	use := func(meta *metav1.ObjectMeta) {
		if meta.Namespace == "" {
			meta.Namespace = defaultNamespace
		}
		if !byName[meta.Namespace] {
			byName[meta.Namespace] = true
			o.namespaces = append(o.namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: meta.Namespace}})
		}
	}
	for _, e := range set.ServiceAccounts {
		sa := e.Object.DeepCopy()
		use(&sa.ObjectMeta)
		o.serviceAccounts = append(o.serviceAccounts, sa)
	}
	for _, e := range set.Services {
		svc := e.Object.DeepCopy()
		use(&svc.ObjectMeta)
		o.services = append(o.services, svc)
	}
	seen := map[string]bool{}
	for _, e := range set.Pods {
		pod := e.Object.DeepCopy()
		use(&pod.ObjectMeta)
		ref := pod.Namespace + "/" + pod.Name
		if seen[ref] {
			return nil, fmt.Errorf("%s: pod %s is defined twice", e.Source, ref)
		}
		seen[ref] = true
		if pod.Spec.HostNetwork {
			return nil, fmt.Errorf("%s: pod %s: host-network pods are not supported by the lab", e.Source, ref)
		}
		if pod.Status.PodIP != "" {
			if _, err := netip.ParseAddr(pod.Status.PodIP); err != nil {
				return nil, fmt.Errorf("%s: pod %s: status.podIP: %w", e.Source, ref, err)
			}
		}
		o.pods = append(o.pods, pod)
	}
	for _, e := range set.KubernetesNetworkPolicies {
		np := e.Object.DeepCopy()
		use(&np.ObjectMeta)
		o.knps = append(o.knps, np)
	}
	for _, e := range set.NetworkPolicies {
		np := e.Object.DeepCopy()
		use(&np.ObjectMeta)
		o.nps = append(o.nps, np)
	}
	for _, e := range set.GlobalNetworkPolicies {
		o.gnps = append(o.gnps, e.Object.DeepCopy())
	}
	return o, nil
}

func (o *objectSet) podRequests() []topology.PodRequest {
	out := make([]topology.PodRequest, 0, len(o.pods))
	for _, p := range o.pods {
		r := topology.PodRequest{Ref: p.Namespace + "/" + p.Name, Node: p.Spec.NodeName}
		if ip, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			r.IP = ip.Unmap()
		}
		out = append(out, r)
	}
	return out
}

// declaredPorts returns each pod's container port numbers (init containers included), sorted.
func (o *objectSet) declaredPorts() map[string][]uint16 {
	out := map[string][]uint16{}
	for _, p := range o.pods {
		var ports []uint16
		for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
			for _, cp := range c.Ports {
				if cp.ContainerPort > 0 && cp.ContainerPort <= 65535 && !slices.Contains(ports, uint16(cp.ContainerPort)) {
					ports = append(ports, uint16(cp.ContainerPort))
				}
			}
		}
		slices.Sort(ports)
		out[p.Namespace+"/"+p.Name] = ports
	}
	return out
}

// createObjects creates the manifest's objects and the nodes in the API server, with the
// statuses a kubelet would report: nodes Ready, pods Running with their planned IPs.
func (l *Lab) createObjects(ctx context.Context) error {
	c := l.Client
	o := l.objects
	for _, ns := range o.namespaces {
		if err := createOrUpdateLabels(ctx, c, ns); err != nil {
			return err
		}
	}
	for _, n := range l.Plan.Nodes {
		node := &corev1.Node{
			ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: map[string]string{"kubernetes.io/hostname": n.Name}},
			Spec:       corev1.NodeSpec{PodCIDR: n.PodCIDR.String(), PodCIDRs: []string{n.PodCIDR.String()}},
		}
		if err := c.Create(ctx, node); err != nil {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
		node.Status = corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: n.FabricIP.String()}, {Type: corev1.NodeHostName, Address: n.Name}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "LabNode", LastHeartbeatTime: metav1.Now(), LastTransitionTime: metav1.Now()}},
		}
		if err := c.Status().Update(ctx, node); err != nil {
			return fmt.Errorf("setting node %s's status: %w", n.Name, err)
		}
	}
	for _, sa := range o.serviceAccounts {
		if err := create(ctx, c, sa); err != nil {
			return err
		}
	}
	for _, p := range o.pods {
		if err := l.createPod(ctx, p); err != nil {
			return err
		}
	}
	if err := l.createServices(ctx); err != nil {
		return err
	}
	for _, np := range o.knps {
		if err := create(ctx, c, np); err != nil {
			return err
		}
	}
	for _, np := range o.nps {
		if err := create(ctx, c, np); err != nil {
			return err
		}
	}
	for _, np := range o.gnps {
		if err := create(ctx, c, np); err != nil {
			return err
		}
	}
	log.FromContext(ctx).Info("objects created", "namespaces", len(o.namespaces), "pods", len(o.pods), "services", len(o.services),
		"policies", len(o.knps)+len(o.nps)+len(o.gnps))
	return nil
}

func (l *Lab) createPod(ctx context.Context, manifestPod *corev1.Pod) error {
	ref := manifestPod.Namespace + "/" + manifestPod.Name
	i := slices.IndexFunc(l.Plan.Pods, func(p topology.Pod) bool { return p.Ref == ref })
	planned := l.Plan.Pods[i]
	node := mustNode(l.Plan, planned.Node)
	pod := manifestPod.DeepCopy()
	clearServerFields(&pod.ObjectMeta)
	pod.Status = corev1.PodStatus{}
	pod.Spec.NodeName = planned.Node
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Image == "" {
			pod.Spec.Containers[i].Image = "registry.invalid/palisade-lab-echo"
		}
	}
	if err := l.Client.Create(ctx, pod); err != nil {
		return fmt.Errorf("creating pod %s: %w", ref, err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{
		Phase:     corev1.PodRunning,
		PodIP:     planned.IP.String(),
		PodIPs:    []corev1.PodIP{{IP: planned.IP.String()}},
		HostIP:    node.FabricIP.String(),
		HostIPs:   []corev1.HostIP{{IP: node.FabricIP.String()}},
		StartTime: &now,
		Conditions: []corev1.PodCondition{
			{Type: corev1.PodScheduled, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodInitialized, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	if err := l.Client.Status().Update(ctx, pod); err != nil {
		return fmt.Errorf("setting pod %s's status: %w", ref, err)
	}
	return nil
}

func create(ctx context.Context, c client.Client, obj client.Object) error {
	obj = obj.DeepCopyObject().(client.Object)
	clearServerFields(obj.(metav1.ObjectMetaAccessor).GetObjectMeta().(*metav1.ObjectMeta))
	if err := c.Create(ctx, obj); err != nil {
		return fmt.Errorf("creating %T %s: %w", obj, client.ObjectKeyFromObject(obj), err)
	}
	return nil
}

// createOrUpdateLabels creates a namespace, or gives an existing one (default, kube-system) the
// manifest's labels.
func createOrUpdateLabels(ctx context.Context, c client.Client, ns *corev1.Namespace) error {
	err := create(ctx, c, ns)
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(ns), cur); err != nil {
		return fmt.Errorf("reading namespace %s: %w", ns.Name, err)
	}
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	for k, v := range ns.Labels {
		cur.Labels[k] = v
	}
	if err := c.Update(ctx, cur); err != nil {
		return fmt.Errorf("labelling namespace %s: %w", ns.Name, err)
	}
	return nil
}

func clearServerFields(m *metav1.ObjectMeta) {
	m.ResourceVersion, m.UID, m.Generation = "", "", 0
	m.CreationTimestamp = metav1.Time{}
	m.ManagedFields = nil
}
