package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// reviewBody is an admission.k8s.io/v1 AdmissionReview as the API server sends it, with obj and old
// as the objects (nil for none). They are spliced in as they are, so they may be any JSON value.
func reviewBody(t testing.TB, op admissionv1.Operation, obj, old []byte) []byte {
	t.Helper()
	req := map[string]any{"uid": "r-1", "operation": op, "namespace": "shop", "name": "p",
		"kind": map[string]string{"group": "policy.palisade.dev", "version": "v1alpha1", "kind": "NetworkPolicy"}}
	if obj != nil {
		req["object"] = json.RawMessage(obj)
	}
	if old != nil {
		req["oldObject"] = json.RawMessage(old)
	}
	body, err := json.Marshal(map[string]any{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": req})
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// serveReview posts body to h as the API server would and returns the response of the review.
func serveReview(t testing.TB, h http.Handler, body []byte) admissionv1.AdmissionResponse {
	t.Helper()
	return *serveFullReview(t, h, "application/json", body).Response
}

// serveFullReview is serveReview returning the whole review. controller-runtime's handler answers a
// review it cannot read without apiVersion and kind; validatingReview always sets them, which
// callers check.
func serveFullReview(t testing.TB, h http.Handler, contentType string, body []byte) admissionv1.AdmissionReview {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		t.Fatalf("HTTP status %d; admission answers are always 200", w.Code)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("response %q: %v", w.Body.String(), err)
	}
	if out.Response == nil {
		t.Fatalf("response %q: want an AdmissionReview with a response", w.Body.String())
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustReview[T any, PT interface {
	*T
	runtime.Object
}](t testing.TB, v admission.Validator[PT]) *validatingReview[T, PT] {
	t.Helper()
	h, err := newValidatingReview[T](testScheme(t), v, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// genericNeverDeny is what the Kubernetes NetworkPolicy webhook was on controller-runtime's generic
// handler: neverDeny applied to the typed handler's answer.
type genericNeverDeny struct{ admission.Handler }

func (h genericNeverDeny) Handle(ctx context.Context, req admission.Request) admission.Response {
	return neverDeny(h.Handler.Handle(ctx, req))
}

// TestValidatingReviewAnswersAsControllerRuntime sends the same reviews to validatingReview and to
// controller-runtime's admission.WithValidator over the same validators, and wants the same answers:
// the one-pass decoder must change the cost of a call, nothing else. Where an object cannot be
// decoded the two word the error differently, so only the code and the UID are compared.
func TestValidatingReviewAnswersAsControllerRuntime(t *testing.T) {
	s := testScheme(t)
	v := view(t, webPod("shop", "web-1", corev1.ContainerPort{Name: "http", ContainerPort: 80}))
	np, gnp, knp := &NetworkPolicyWebhook{View: v}, &GlobalNetworkPolicyWebhook{View: v}, &KubernetesNetworkPolicyWebhook{View: v}
	generic := func(h *admission.Webhook) *admission.Webhook { return h }
	knpGeneric := admission.WithValidator[*networkingv1.NetworkPolicy](s, knp)
	knpGeneric.Handler = genericNeverDeny{knpGeneric.Handler}
	knpOurs := mustReview[networkingv1.NetworkPolicy](t, knp)
	knpOurs.finish = neverDeny
	hooks := []struct {
		name         string
		ours, theirs http.Handler
		objects      map[string][]byte
		// undecodable are the objects the Go type cannot hold ("null" never can).
		undecodable []string
	}{
		{
			name: "NetworkPolicy", ours: mustReview[v1alpha1.NetworkPolicy](t, np), theirs: generic(admission.WithValidator[*v1alpha1.NetworkPolicy](s, np)),
			objects: map[string][]byte{
				"valid": mustJSON(t, policy(nil)),
				"warned": mustJSON(t, policy(func(p *v1alpha1.NetworkPolicy) {
					p.Spec.Ingress[0].Destination.Ports[0] = v1alpha1.PortFromString("grpc")
				})),
				"invalid": mustJSON(t, policy(func(p *v1alpha1.NetworkPolicy) {
					p.Spec.Ingress[0].Protocol = ptr.To(v1alpha1.ProtocolFromString("tcp"))
				})),
				"typed":         mustJSON(t, withKind(policy(nil), "policy.palisade.dev/v1alpha1", "NetworkPolicy")),
				"wrong types":   []byte(`{"spec":{"order":"high","ingress":"all"}}`),
				"a string":      []byte(`"oops"`),
				"null":          []byte(`null`),
				"empty object":  []byte(`{}`),
				"unknown field": []byte(`{"spec":{"bogus":true,"selector":"app == 'web'"}}`),
			},
			undecodable: []string{"wrong types", "a string"},
		},
		{
			name: "GlobalNetworkPolicy", ours: mustReview[v1alpha1.GlobalNetworkPolicy](t, gnp), theirs: generic(admission.WithValidator[*v1alpha1.GlobalNetworkPolicy](s, gnp)),
			objects: map[string][]byte{
				"valid":   []byte(`{"apiVersion":"policy.palisade.dev/v1alpha1","kind":"GlobalNetworkPolicy","metadata":{"name":"g"},"spec":{"selector":"all()","namespaceSelector":"has(team)","egress":[{"action":"Allow","protocol":"UDP","destination":{"ports":[53]}}]}}`),
				"invalid": []byte(`{"metadata":{"name":"g"},"spec":{"selector":"all(","types":["Sideways"]}}`),
			},
		},
		{
			name: "Kubernetes NetworkPolicy", ours: knpOurs, theirs: knpGeneric,
			objects: map[string][]byte{
				"dns trap":    []byte(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"k","namespace":"shop"},"spec":{"podSelector":{},"policyTypes":["Egress"]}}`),
				"named port":  []byte(`{"metadata":{"name":"k","namespace":"shop"},"spec":{"podSelector":{"matchLabels":{"app":"web"}},"ingress":[{"ports":[{"port":"grpc"}]}]}}`),
				"wrong types": []byte(`{"spec":{"podSelector":"all"}}`),
			},
			undecodable: []string{"wrong types"},
		},
	}
	for _, h := range hooks {
		for name, obj := range h.objects {
			other := h.objects["valid"]
			if other == nil {
				other = h.objects["dns trap"]
			}
			for _, c := range []struct {
				op       admissionv1.Operation
				obj, old []byte
			}{
				{admissionv1.Create, obj, nil},
				{admissionv1.Update, obj, obj},
				{admissionv1.Update, obj, other},
				{admissionv1.Delete, nil, obj},
				{admissionv1.Connect, nil, nil},
				{"PATCH", obj, nil},
			} {
				t.Run(h.name+"/"+name+"/"+string(c.op), func(t *testing.T) {
					body := reviewBody(t, c.op, c.obj, c.old)
					rev := serveFullReview(t, h.ours, "application/json", body)
					if rev.APIVersion != "admission.k8s.io/v1" || rev.Kind != "AdmissionReview" {
						t.Errorf("answered with apiVersion %q, kind %q", rev.APIVersion, rev.Kind)
					}
					ours := *rev.Response
					theirs := serveReview(t, h.theirs, body)
					if ours.UID != "r-1" {
						t.Errorf("UID %q; want the request's", ours.UID)
					}
					undecodable := slices.Contains(h.undecodable, name) || name == "null"
					if undecodable && (ours.Result == nil || theirs.Result == nil) {
						// Both must refuse or admit alike; only what they say may differ.
						if ours.Allowed != theirs.Allowed {
							t.Errorf("allowed %v, controller-runtime %v", ours.Allowed, theirs.Allowed)
						}
						return
					}
					if undecodable {
						if ours.Allowed != theirs.Allowed || ours.Result.Code != theirs.Result.Code || ours.UID != theirs.UID {
							t.Errorf("allowed %v code %d uid %q; controller-runtime: allowed %v code %d uid %q",
								ours.Allowed, ours.Result.Code, ours.UID, theirs.Allowed, theirs.Result.Code, theirs.UID)
						}
						return
					}
					if diff := cmp.Diff(theirs, ours); diff != "" {
						t.Errorf("response (-controller-runtime +ours):\n%s", diff)
					}
				})
			}
		}
	}
}

func withKind(p *v1alpha1.NetworkPolicy, apiVersion, kind string) *v1alpha1.NetworkPolicy {
	p.APIVersion, p.Kind = apiVersion, kind
	return p
}

// panicking is a validator that panics, as a bug in validation would.
type panicking struct{}

func (panicking) ValidateCreate(context.Context, *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	panic("validation bug")
}

func (panicking) ValidateUpdate(context.Context, *v1alpha1.NetworkPolicy, *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	panic("validation bug")
}

func (panicking) ValidateDelete(context.Context, *v1alpha1.NetworkPolicy) (admission.Warnings, error) {
	panic("validation bug")
}

// TestValidatingReviewRefusesBadReviews: whatever arrives, the answer is a review with an error
// code, carrying the request's UID whenever the review holds one, and the handler keeps serving.
func TestValidatingReviewRefusesBadReviews(t *testing.T) {
	np := mustReview[v1alpha1.NetworkPolicy](t, &NetworkPolicyWebhook{View: view(t)})
	valid := mustJSON(t, policy(nil))
	huge := bytes.Repeat([]byte(" "), maxReviewSize+1)
	cases := []struct {
		name        string
		handler     http.Handler
		contentType string
		body        []byte
		code        int32
		uid         types.UID
	}{
		{"empty body", np, "application/json", nil, http.StatusBadRequest, ""},
		{"wrong content type", np, "application/yaml", reviewBody(t, admissionv1.Create, valid, nil), http.StatusBadRequest, ""},
		{"too large", np, "application/json", huge, http.StatusRequestEntityTooLarge, ""},
		{"not JSON", np, "application/json", []byte(`{"request":`), http.StatusBadRequest, ""},
		{"no request", np, "application/json", []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), http.StatusBadRequest, ""},
		{"v1beta1", np, "application/json", bytes.Replace(reviewBody(t, admissionv1.Create, valid, nil), []byte("admission.k8s.io/v1"), []byte("admission.k8s.io/v1beta1"), 1), http.StatusBadRequest, "r-1"},
		{"object of another kind", np, "application/json", reviewBody(t, admissionv1.Create, []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p"}}`), nil), http.StatusBadRequest, "r-1"},
		{"undecodable object keeps the UID", np, "application/json", reviewBody(t, admissionv1.Create, []byte(`{"spec":{"order":"high"}}`), nil), http.StatusBadRequest, "r-1"},
		{"update without the old object", np, "application/json", reviewBody(t, admissionv1.Update, valid, nil), http.StatusBadRequest, "r-1"},
		{"delete without the old object", np, "application/json", reviewBody(t, admissionv1.Delete, nil, nil), http.StatusBadRequest, "r-1"},
		{"panic in validation", mustReview[v1alpha1.NetworkPolicy](t, panicking{}), "application/json", reviewBody(t, admissionv1.Create, valid, nil), http.StatusInternalServerError, "r-1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rev := serveFullReview(t, c.handler, c.contentType, c.body)
			if rev.APIVersion != "admission.k8s.io/v1" || rev.Kind != "AdmissionReview" {
				t.Errorf("answered with apiVersion %q, kind %q; the API server reads only admission.k8s.io/v1 AdmissionReview", rev.APIVersion, rev.Kind)
			}
			resp := rev.Response
			if resp.Allowed || resp.Result == nil || resp.Result.Code != c.code || resp.Result.Message == "" {
				t.Errorf("allowed %v, result %+v; want refused with code %d and a message", resp.Allowed, resp.Result, c.code)
			}
			if resp.UID != c.uid {
				t.Errorf("UID %q; want %q", resp.UID, c.uid)
			}
		})
	}
	// And it still answers a good review.
	if resp := serveReview(t, np, reviewBody(t, admissionv1.Create, valid, nil)); !resp.Allowed {
		t.Errorf("valid policy after bad reviews: %+v", resp.Result)
	}
}

// TestKubernetesNetworkPolicyReviewNeverDenies: even a review that cannot be read is admitted, with a
// warning that says Palisade could not check it.
func TestKubernetesNetworkPolicyReviewNeverDenies(t *testing.T) {
	knp := mustReview[networkingv1.NetworkPolicy](t, &KubernetesNetworkPolicyWebhook{View: view(t)})
	knp.finish = neverDeny
	for _, body := range [][]byte{nil, []byte("not json"), reviewBody(t, admissionv1.Create, []byte(`{"spec":{"podSelector":"all"}}`), nil)} {
		resp := serveReview(t, knp, body)
		if !resp.Allowed || len(resp.Warnings) != 1 || !strings.HasPrefix(resp.Warnings[0], "Palisade could not check this NetworkPolicy: ") {
			t.Errorf("body %q: allowed %v, warnings %q; want allowed with one warning", body, resp.Allowed, resp.Warnings)
		}
	}
}
