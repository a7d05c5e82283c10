package policy

import (
	"encoding/json"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	sigsjson "sigs.k8s.io/json"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzAdmissionHandlers sends arbitrary objects through every handler over HTTP, as the API server
// would, and arbitrary bytes as whole review bodies: the handlers must answer with a review, never
// with a server error (a recovered panic answers 500); the mutating handlers must never refuse a
// review they can read, and the Kubernetes NetworkPolicy handler must never refuse at all.
func FuzzAdmissionHandlers(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"policy.palisade.dev/v1alpha1","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"shop"},"spec":{"order":1,"selector":"app == 'web'","ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":["http",80,"1:2"]}}]}}`))
	f.Add([]byte(`{"spec":{"egress":[{"action":"Allow","destination":{"nets":["10.0.0.1"],"namespaceSelector":"global()","ports":["dns"]}}],"types":["Egress"]}}`))
	f.Add([]byte(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"k","namespace":"shop"},"spec":{"podSelector":{},"policyTypes":["Egress"],"egress":[{"ports":[{"port":"dns","protocol":"UDP"}]}]}}`))
	f.Add([]byte(`{"spec":{"ingress":[{"protocol":"tcp","icmp":{"code":1}}],"order":"x"}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","operation":"DELETE"}}`))
	s := testScheme(f)
	v := view(f, webPod("shop", "web-1"))
	np, gnp := &NetworkPolicyWebhook{View: v}, &GlobalNetworkPolicyWebhook{View: v}
	knp := mustReview[networkingv1.NetworkPolicy](f, &KubernetesNetworkPolicyWebhook{View: v})
	knp.finish = neverDeny
	hooks := []struct {
		name     string
		h        http.Handler
		mutating bool
	}{
		{"mutate np", leaveToValidation(admission.WithDefaulter[*v1alpha1.NetworkPolicy](s, np)), true},
		{"validate np", mustReview[v1alpha1.NetworkPolicy](f, np), false},
		{"mutate gnp", leaveToValidation(admission.WithDefaulter[*v1alpha1.GlobalNetworkPolicy](s, gnp)), true},
		{"validate gnp", mustReview[v1alpha1.GlobalNetworkPolicy](f, gnp), false},
		{"knp", knp, false},
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		bodies := [][]byte{raw}
		if json.Valid(raw) {
			bodies = append(bodies, reviewBody(t, admissionv1.Create, raw, nil), reviewBody(t, admissionv1.Update, raw, raw))
		}
		for _, body := range bodies {
			var readable admissionv1.AdmissionReview
			// As controller-runtime reads it: case-sensitively.
			readableReview := sigsjson.UnmarshalCaseSensitivePreserveInts(body, &readable) == nil && readable.Request != nil
			for _, h := range hooks {
				resp := serveReview(t, h.h, body)
				if resp.Result != nil && resp.Result.Code >= http.StatusInternalServerError {
					t.Fatalf("%s: server error %d: %s", h.name, resp.Result.Code, resp.Result.Message)
				}
				if !resp.Allowed && (h.h == http.Handler(knp) || h.mutating && readableReview) {
					t.Fatalf("%s refused: %+v", h.name, resp.Result)
				}
			}
		}
	})
}
