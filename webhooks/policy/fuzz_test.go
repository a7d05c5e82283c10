package policy

import (
	"context"
	"net/http"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// FuzzAdmissionHandlers sends arbitrary objects through every handler as the API server would: the
// handlers must answer, never panic (a recovered panic answers 500); the mutating handlers and the
// Kubernetes NetworkPolicy handler must never refuse.
func FuzzAdmissionHandlers(f *testing.F) {
	f.Add([]byte(`{"apiVersion":"policy.palisade.dev/v1alpha1","kind":"NetworkPolicy","metadata":{"name":"p","namespace":"shop"},"spec":{"order":1,"selector":"app == 'web'","ingress":[{"action":"Allow","protocol":"TCP","destination":{"ports":["http",80,"1:2"]}}]}}`))
	f.Add([]byte(`{"spec":{"egress":[{"action":"Allow","destination":{"nets":["10.0.0.1"],"namespaceSelector":"global()","ports":["dns"]}}],"types":["Egress"]}}`))
	f.Add([]byte(`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":"k","namespace":"shop"},"spec":{"podSelector":{},"policyTypes":["Egress"],"egress":[{"ports":[{"port":"dns","protocol":"UDP"}]}]}}`))
	f.Add([]byte(`{"spec":{"ingress":[{"protocol":"tcp","icmp":{"code":1}}],"order":"x"}}`))
	f.Add([]byte(`null`))
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		f.Fatal(err)
	}
	if err := networkingv1.AddToScheme(s); err != nil {
		f.Fatal(err)
	}
	v := view(f, webPod("shop", "web-1"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		np, gnp := &NetworkPolicyWebhook{View: v}, &GlobalNetworkPolicyWebhook{View: v}
		knp := admission.WithValidator[*networkingv1.NetworkPolicy](s, &KubernetesNetworkPolicyWebhook{View: v})
		knp.Handler = neverDeny{knp.Handler}
		hooks := []struct {
			name      string
			wh        *admission.Webhook
			mayRefuse bool
		}{
			{"mutate np", leaveToValidation(admission.WithDefaulter[*v1alpha1.NetworkPolicy](s, np)), false},
			{"validate np", admission.WithValidator[*v1alpha1.NetworkPolicy](s, np), true},
			{"mutate gnp", leaveToValidation(admission.WithDefaulter[*v1alpha1.GlobalNetworkPolicy](s, gnp)), false},
			{"validate gnp", admission.WithValidator[*v1alpha1.GlobalNetworkPolicy](s, gnp), true},
			{"knp", knp, false},
		}
		for _, h := range hooks {
			for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update} {
				resp := h.wh.Handle(context.Background(), admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
					UID: "f", Operation: op, Namespace: "shop", Object: runtime.RawExtension{Raw: raw}, OldObject: runtime.RawExtension{Raw: raw},
				}})
				if resp.Result != nil && resp.Result.Code >= http.StatusInternalServerError {
					t.Fatalf("%s %s: server error %d: %s", h.name, op, resp.Result.Code, resp.Result.Message)
				}
				if !resp.Allowed && !h.mayRefuse {
					t.Fatalf("%s %s refused: %+v", h.name, op, resp.Result)
				}
			}
		}
	})
}
