package lab

import (
	"bytes"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab/topology"
)

// Manifest renders the lab's objects as built: the manifest's namespaces, service accounts,
// services and policies, and its pods with the node and IP the lab gave them (spec.nodeName, status.podIP).
// `kubectl palisade matrix -f` on it computes the matrix the lab should measure.
func (l *Lab) Manifest() ([]byte, error) {
	o := l.objects
	var docs []runtime.Object
	for _, ns := range o.namespaces {
		docs = append(docs, typed(ns.DeepCopy(), corev1.SchemeGroupVersion.WithKind("Namespace")))
	}
	for _, sa := range o.serviceAccounts {
		docs = append(docs, typed(sa.DeepCopy(), corev1.SchemeGroupVersion.WithKind("ServiceAccount")))
	}
	for _, svc := range o.services {
		docs = append(docs, typed(svc.DeepCopy(), corev1.SchemeGroupVersion.WithKind("Service")))
	}
	for _, p := range o.pods {
		pod := p.DeepCopy()
		ref := pod.Namespace + "/" + pod.Name
		i := slices.IndexFunc(l.Plan.Pods, func(p topology.Pod) bool { return p.Ref == ref })
		pod.Spec.NodeName = l.Plan.Pods[i].Node
		pod.Status = corev1.PodStatus{PodIP: l.Plan.Pods[i].IP.String(), PodIPs: []corev1.PodIP{{IP: l.Plan.Pods[i].IP.String()}}, Phase: corev1.PodRunning}
		docs = append(docs, typed(pod, corev1.SchemeGroupVersion.WithKind("Pod")))
	}
	for _, np := range o.knps {
		docs = append(docs, typed(np.DeepCopy(), networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy")))
	}
	for _, np := range o.nps {
		docs = append(docs, typed(np.DeepCopy(), v1alpha1.GroupVersion.WithKind("NetworkPolicy")))
	}
	for _, np := range o.gnps {
		docs = append(docs, typed(np.DeepCopy(), v1alpha1.GroupVersion.WithKind("GlobalNetworkPolicy")))
	}
	var b bytes.Buffer
	for i, d := range docs {
		y, err := yaml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("rendering the lab's manifest: %w", err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}

func typed[T runtime.Object](obj T, gvk schema.GroupVersionKind) T {
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj
}
