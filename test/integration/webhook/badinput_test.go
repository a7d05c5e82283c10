package webhookintegration

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// rawResponse is an API server answer read without a typed client.
type rawResponse struct {
	code   int
	status metav1.Status
}

// badInputNamespace holds the bad-input specs' policies.
const badInputNamespace = "bad-input"

// postPolicy sends body as-is to the NetworkPolicy collection of the bad-input namespace.
func postPolicy(query string, body []byte) rawResponse {
	GinkgoHelper()
	hc, err := rest.HTTPClientFor(env.cfg)
	Expect(err).NotTo(HaveOccurred())
	url := fmt.Sprintf("%s/apis/policy.palisade.dev/v1alpha1/namespaces/%s/networkpolicies%s", strings.TrimSuffix(env.cfg.Host, "/"), badInputNamespace, query)
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	r := rawResponse{code: resp.StatusCode}
	if resp.StatusCode >= 300 {
		Expect(json.Unmarshal(raw, &r.status)).To(Succeed(), "response body %q", raw)
	}
	return r
}

func policyJSON(name string, mutate func(map[string]any)) []byte {
	GinkgoHelper()
	obj := map[string]any{
		"apiVersion": "policy.palisade.dev/v1alpha1",
		"kind":       "NetworkPolicy",
		"metadata":   map[string]any{"name": name},
		"spec": map[string]any{
			"order":   10,
			"ingress": []any{map[string]any{"action": "Allow"}},
		},
	}
	if mutate != nil {
		mutate(obj)
	}
	raw, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	return raw
}

func spec(obj map[string]any) map[string]any { return obj["spec"].(map[string]any) }

// webhookStillServes creates a valid policy (defaulted on read-back) and an invalid one (refused by
// the validating webhook by name) in the bad-input namespace.
func webhookStillServes() {
	GinkgoHelper()
	ok := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: badInputNamespace, GenerateName: "after-"}}
	ok.Spec.Order = ptr.To(1.0)
	Expect(env.client.Create(ctx, ok)).To(Succeed())
	Expect(ok.Spec.Tier).To(Equal("default"), "the policy was not defaulted")
	bad := ok.DeepCopy()
	bad.Name, bad.ResourceVersion = "", ""
	bad.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("tcp"))}}
	err := env.client.Create(ctx, bad)
	Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
	Expect(err.Error()).To(HavePrefix(`admission webhook "vnetworkpolicy.policy.palisade.dev" denied the request: `))
}

var _ = Describe("Bad input", func() {
	const ns = badInputNamespace
	BeforeEach(func() { createNamespace(ns, nil) })

	It("refuses malformed JSON with a 400", func() {
		r := postPolicy("", []byte(`{"apiVersion":"policy.palisade.dev/v1alpha1","kind":"NetworkPolicy","metadata":{"name":`))
		Expect(r.code).To(Equal(http.StatusBadRequest))
		Expect(r.status.Reason).To(Equal(metav1.StatusReasonBadRequest))
		webhookStillServes()
	})

	It("refuses a 2 MiB selector with a field error", func() {
		huge := "app == '" + strings.Repeat("a", 2<<20) + "'"
		r := postPolicy("", policyJSON("huge-selector", func(o map[string]any) { spec(o)["selector"] = huge }))
		Expect(r.code).To(Equal(http.StatusUnprocessableEntity))
		Expect(r.status.Details).NotTo(BeNil())
		var fields []string
		for _, c := range r.status.Details.Causes {
			fields = append(fields, c.Field)
		}
		Expect(fields).To(ContainElement("spec.selector"))
		webhookStillServes()
	})

	It("handles the most deeply nested selector the schema's length limit allows", func() {
		deep := strings.Repeat("(", 500) + "a == 'b'" + strings.Repeat(")", 500)
		r := postPolicy("", policyJSON("deep-selector", func(o map[string]any) { spec(o)["selector"] = deep }))
		Expect(r.code).To(Equal(http.StatusCreated), "status %+v", r.status)
		webhookStillServes()
	})

	It("refuses unknown fields under fieldValidation=Strict", func() {
		r := postPolicy("?fieldValidation=Strict", policyJSON("unknown-field", func(o map[string]any) { spec(o)["bogus"] = true }))
		Expect(r.code).To(Equal(http.StatusBadRequest))
		Expect(r.status.Message).To(Equal(`NetworkPolicy in version "v1alpha1" cannot be handled as a NetworkPolicy: strict decoding error: unknown field "spec.bogus"`))
		webhookStillServes()
	})

	It("accepts the largest policy the schema allows and stays fast enough to answer", func() {
		rule := map[string]any{"action": "Allow", "protocol": "TCP", "destination": map[string]any{"ports": func() []any {
			ports := make([]any, 50)
			for i := range ports {
				ports[i] = 1000 + i
			}
			return ports
		}()}}
		rules := make([]any, 1024)
		for i := range rules {
			rules[i] = rule
		}
		r := postPolicy("", policyJSON("largest", func(o map[string]any) { spec(o)["ingress"] = rules }))
		Expect(r.code).To(Equal(http.StatusCreated), "status %+v", r.status)
		webhookStillServes()
	})

	It("answers garbage sent straight to the webhook server with an error review", func() {
		wio := env.env.WebhookInstallOptions
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(wio.LocalServingCAData)).To(BeTrue())
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
		base := "https://" + net.JoinHostPort(wio.LocalServingHost, strconv.Itoa(wio.LocalServingPort))
		for _, path := range []string{
			"/validate-policy-palisade-dev-v1alpha1-networkpolicy",
			"/mutate-policy-palisade-dev-v1alpha1-networkpolicy",
			"/validate-networking-k8s-io-v1-networkpolicy",
		} {
			for _, body := range []string{"", "not json", `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"1","operation":"CREATE","object":"oops"}}`} {
				resp, err := hc.Post(base+path, "application/json", strings.NewReader(body))
				Expect(err).NotTo(HaveOccurred())
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				Expect(err).NotTo(HaveOccurred())
				var review admissionv1.AdmissionReview
				Expect(json.Unmarshal(raw, &review)).To(Succeed(), "%s %q: response %q", path, body, raw)
				Expect(review.Response).NotTo(BeNil())
				if review.Response.Allowed {
					// Only the Kubernetes NetworkPolicy webhook, which never denies, and the
					// mutating webhook, which leaves what it cannot decode to the schema and the
					// validating webhook, may admit, and the latter without a patch.
					Expect(path).To(Or(Equal("/validate-networking-k8s-io-v1-networkpolicy"), Equal("/mutate-policy-palisade-dev-v1alpha1-networkpolicy")))
					Expect(review.Response.Patch).To(BeEmpty())
					continue
				}
				Expect(review.Response.Result.Code).To(BeNumerically("==", http.StatusBadRequest), "%s %q: %+v", path, body, review.Response.Result)
			}
		}
		webhookStillServes()
	})
})
