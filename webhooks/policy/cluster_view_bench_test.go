package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stypes "k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// BenchmarkWorstCaseChecks serves the review of the costliest GlobalNetworkPolicy the checks know:
// it selects every pod and has 1,024 egress rules (the most validation admits), each to its own peer
// selector with its own named port, so that every rule needs a pass over every pod, and none allows
// DNS, so that the DNS check runs too. Baseline: the same request with the checks
// off (no ClusterView), in the same run. "bounded" is the webhook as shipped (default work cap and
// deadline); "unbounded" lifts both, as the checks were before they had a budget; "shared selector"
// gives every rule the same peer selector, which the checks now compute once.
func BenchmarkWorstCaseChecks(b *testing.B) {
	for _, pods := range []int{20_000, 100_000} {
		reader := newWorstCaseReader(pods)
		cases := []struct {
			name   string
			view   *ClusterView
			shared bool
		}{
			{name: "checks off", view: nil},
			{name: "bounded", view: &ClusterView{Reader: reader}},
			{name: "shared selector, bounded", view: &ClusterView{Reader: reader}, shared: true},
		}
		if pods == 20_000 {
			cases = append(cases, struct {
				name   string
				view   *ClusterView
				shared bool
			}{name: "unbounded", view: &ClusterView{Reader: reader, MaxWork: math.MaxInt, CheckTimeout: math.MaxInt64}})
		}
		for _, c := range cases {
			b.Run(fmt.Sprintf("pods=%d/%s", pods, c.name), func(b *testing.B) {
				h := admission.WithValidator[*v1alpha1.GlobalNetworkPolicy](testScheme(b), &GlobalNetworkPolicyWebhook{View: c.view})
				body := worstCaseReview(b, c.shared)
				serve := func() *httptest.ResponseRecorder {
					req := httptest.NewRequest(http.MethodPost, ValidateGlobalNetworkPolicyPath, bytes.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK || !bytes.Contains(w.Body.Bytes(), []byte(`"allowed":true`)) {
						b.Fatalf("%d %s", w.Code, w.Body)
					}
					return w
				}
				// One request before the timed ones, as a running webhook has served many: it fills
				// the caches of converted pods and compiled selectors.
				if c.view != nil {
					b.Logf("warnings: %s", warningsOf(b, serve()))
				}
				b.ReportAllocs()
				for b.Loop() {
					serve()
				}
			})
		}
	}
}

// worstCaseRules is the number of egress rules of the worst-case policy.
const worstCaseRules = 1024

// worstCaseReview is the AdmissionReview of the worst-case policy, created.
func worstCaseReview(b *testing.B, shared bool) []byte {
	b.Helper()
	p := &v1alpha1.GlobalNetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy.palisade.dev/v1alpha1", Kind: "GlobalNetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Name: "worst"},
	}
	p.Spec.Order = ptr.To(100.0)
	p.Spec.Types = []v1alpha1.PolicyType{v1alpha1.PolicyTypeEgress}
	p.Spec.Tier = v1alpha1.DefaultTier
	for i := range worstCaseRules {
		sel := fmt.Sprintf("app == 'svc-%d'", i)
		if shared {
			sel = "has(app)"
		}
		p.Spec.Egress = append(p.Spec.Egress, v1alpha1.Rule{
			Action:   v1alpha1.Allow,
			Protocol: ptr.To(v1alpha1.ProtocolFromString("TCP")),
			Destination: v1alpha1.EntityRule{
				Selector: sel,
				Ports:    []v1alpha1.Port{v1alpha1.PortFromString(fmt.Sprintf("port-%d", i))},
			},
		})
	}
	raw, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	review := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "bench",
			Kind:      metav1.GroupVersionKind{Group: "policy.palisade.dev", Version: "v1alpha1", Kind: "GlobalNetworkPolicy"},
			Resource:  metav1.GroupVersionResource{Group: "policy.palisade.dev", Version: "v1alpha1", Resource: "globalnetworkpolicies"},
			Name:      p.Name,
			Operation: admissionv1.Create,
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(review)
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// worstCaseReader lists pods and namespaces held in memory without copying them, as the informer
// indexers behind the webhooks hand them out, with a UID and a resourceVersion as stored objects have: pods in 100 namespaces, pod i labelled app=svc-<i mod
// 1024> and declaring port-<i mod 1024>, so that every rule of the worst-case policy resolves.
type worstCaseReader struct {
	client.Reader
	pods []corev1.Pod
	nss  []corev1.Namespace
}

func newWorstCaseReader(n int) *worstCaseReader {
	r := &worstCaseReader{}
	for i := range 100 {
		r.nss = append(r.nss, corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns-%d", i),
			Labels: map[string]string{"kubernetes.io/metadata.name": fmt.Sprintf("ns-%d", i)}}})
	}
	for i := range n {
		svc := i % worstCaseRules
		r.pods = append(r.pods, corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", i%100), Name: fmt.Sprintf("p-%d", i),
				UID: k8stypes.UID(fmt.Sprintf("uid-%d", i)), ResourceVersion: "1",
				Labels: map[string]string{"app": fmt.Sprintf("svc-%d", svc), "pod-template-hash": "5d8f7c9b4"}},
			Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{
				{Name: fmt.Sprintf("port-%d", svc), ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)},
		})
	}
	return r
}

func (r *worstCaseReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	switch l := list.(type) {
	case *corev1.PodList:
		l.Items = r.pods
	case *corev1.NamespaceList:
		l.Items = r.nss
	case *corev1.ServiceAccountList, *v1alpha1.NetworkPolicyList, *v1alpha1.GlobalNetworkPolicyList, *networkingv1.NetworkPolicyList:
	default:
		return fmt.Errorf("worstCaseReader cannot list %T", list)
	}
	return nil
}

// warningsOf returns the warnings of a review response, for the benchmark's log.
func warningsOf(b *testing.B, w *httptest.ResponseRecorder) []string {
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &review); err != nil {
		b.Fatal(err)
	}
	return review.Response.Warnings
}
