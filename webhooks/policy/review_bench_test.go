package policy

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/defaulting"
)

// BenchmarkValidatingReview serves the review the API server sends for a created policy, as the
// integration benchmark creates them (defaulted, with an ingress rule on a named port and a DNS
// egress rule, in a namespace of 20 pods and 10 policies), through the one-pass handler and, as the
// baseline, through controller-runtime's generic typed handler over the same validator.
func BenchmarkValidatingReview(b *testing.B) {
	np := &NetworkPolicyWebhook{View: &ClusterView{Reader: newSliceReader(benchObjects())}}
	p := policy(func(p *v1alpha1.NetworkPolicy) {
		p.Spec.Selector = "app == 'web-1'"
		p.Spec.Ingress[0].Source.Selector = "app starts with 'web'"
		p.Spec.Egress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("UDP")),
			Destination: v1alpha1.EntityRule{Ports: []v1alpha1.Port{v1alpha1.PortFromInt(53)}}}}
	})
	defaulting.NetworkPolicy(withKind(p, "policy.palisade.dev/v1alpha1", "NetworkPolicy"))
	body := reviewBody(b, admissionv1.Create, mustJSON(b, p), nil)
	for _, h := range []struct {
		name string
		h    http.Handler
	}{
		{"generic", admission.WithValidator[*v1alpha1.NetworkPolicy](testScheme(b), np)},
		{"one-pass", mustReview[v1alpha1.NetworkPolicy](b, np)},
	} {
		b.Run(h.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, ValidateNetworkPolicyPath, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.h.ServeHTTP(w, req)
				if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"allowed":true`)) {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}

// benchObjects is one namespace of the integration benchmark: 20 pods declaring the named ports the
// policies use, and 10 stored policies.
func benchObjects() []client.Object {
	var objs []client.Object
	for j := range 20 {
		objs = append(objs, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: fmt.Sprintf("web-%d", j), Labels: map[string]string{"app": fmt.Sprintf("web-%d", j%5)}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
				{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}}}},
		})
	}
	for j := range 10 {
		objs = append(objs, policy(func(p *v1alpha1.NetworkPolicy) {
			p.Name = fmt.Sprintf("seed-%d", j)
			p.Spec.Order = ptr.To(float64(-1 - j))
		}))
	}
	return append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}})
}

// sliceReader lists objects held in memory without copying them, as the informer indexers behind
// the webhooks hand them out; the fake client instead round-trips every object through JSON on
// every List, which would swamp what the benchmark measures.
type sliceReader struct {
	client.Reader
	pods []corev1.Pod
	nss  []corev1.Namespace
	nps  []v1alpha1.NetworkPolicy
}

func newSliceReader(objs []client.Object) *sliceReader {
	r := &sliceReader{}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Pod:
			r.pods = append(r.pods, *o)
		case *corev1.Namespace:
			r.nss = append(r.nss, *o)
		case *v1alpha1.NetworkPolicy:
			r.nps = append(r.nps, *o)
		}
	}
	return r
}

func (r *sliceReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	switch l := list.(type) {
	case *corev1.PodList:
		l.Items = r.pods
	case *corev1.NamespaceList:
		l.Items = r.nss
	case *v1alpha1.NetworkPolicyList:
		l.Items = r.nps
	case *corev1.ServiceAccountList, *v1alpha1.GlobalNetworkPolicyList, *networkingv1.NetworkPolicyList:
	default:
		return fmt.Errorf("sliceReader cannot list %T", list)
	}
	return nil
}
