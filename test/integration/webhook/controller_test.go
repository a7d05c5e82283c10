package webhookintegration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/webhooks/certs"
)

func freePort() int {
	GinkgoHelper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// review sends an AdmissionReview for obj to a webhook server and returns its response.
func review(hc *http.Client, url string, obj runtime.Object) *admissionv1.AdmissionResponse {
	GinkgoHelper()
	raw, err := json.Marshal(obj)
	Expect(err).NotTo(HaveOccurred())
	req := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       "test",
			Kind:      metav1.GroupVersionKind{Group: "policy.palisade.dev", Version: "v1alpha1", Kind: "NetworkPolicy"},
			Operation: admissionv1.Create,
			Namespace: "controller-binary",
			Object:    runtime.RawExtension{Raw: raw},
		},
	}
	body, err := json.Marshal(req)
	Expect(err).NotTo(HaveOccurred())
	resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
	Expect(err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	Expect(err).NotTo(HaveOccurred())
	var got admissionv1.AdmissionReview
	Expect(json.Unmarshal(out, &got)).To(Succeed(), "response %q", out)
	Expect(got.Response).NotTo(BeNil())
	return got.Response
}

var _ = Describe("The palisade-controller binary", Ordered, func() {
	var (
		cmd       *exec.Cmd
		probes    string
		webhooks  string
		hc        *http.Client
		exited    chan error
		outBuffer bytes.Buffer
	)

	BeforeAll(func() {
		dir := GinkgoT().TempDir()
		bin := filepath.Join(dir, "palisade-controller")
		build := exec.Command("go", "build", "-o", bin, "./cmd/palisade-controller")
		build.Dir = repoRoot
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building: %s", out)
		kubeconfig, err := env.kubeconfig(dir)
		Expect(err).NotTo(HaveOccurred())
		createNamespace("controller-binary", nil)

		wio := env.env.WebhookInstallOptions
		webhookPort, probePort := freePort(), freePort()
		probes = "http://127.0.0.1:" + strconv.Itoa(probePort)
		webhooks = "https://127.0.0.1:" + strconv.Itoa(webhookPort)
		pool := x509.NewCertPool()
		Expect(pool.AppendCertsFromPEM(wio.LocalServingCAData)).To(BeTrue())
		hc = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}

		// cert-manager mode: the certificate is already on disk (envtest's), as a mounted
		// cert-manager Secret would be.
		cmd = exec.Command(bin,
			"--cert-source=cert-manager",
			"--webhook-cert-dir="+wio.LocalServingCertDir,
			"--webhook-port="+strconv.Itoa(webhookPort),
			"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probePort),
			"--metrics-bind-address=0",
			"--namespace=palisade-system",
		)
		cmd.Env = []string{"KUBECONFIG=" + kubeconfig, "HOME=" + dir}
		cmd.Stdout, cmd.Stderr = &outBuffer, &outBuffer
		Expect(cmd.Start()).To(Succeed())
		exited = make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		DeferCleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
			}
		})
	})

	It("becomes ready once the webhooks serve and the caches are synced", func() {
		get := func(path string) int {
			resp, err := hc.Get(probes + path)
			if err != nil {
				return 0
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		eventually(func() int { return get("/readyz") }).WithTimeout(60*time.Second).Should(Equal(http.StatusOK), "output:\n%s", &outBuffer)
		Expect(get("/healthz")).To(Equal(http.StatusOK))
	})

	It("refuses an invalid policy and defaults a valid one", func() {
		bad := &v1alpha1.NetworkPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy.palisade.dev/v1alpha1", Kind: "NetworkPolicy"},
			ObjectMeta: metav1.ObjectMeta{Namespace: "controller-binary", Name: "bad"},
		}
		bad.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("tcp"))}}
		resp := review(hc, webhooks+"/validate-policy-palisade-dev-v1alpha1-networkpolicy", bad)
		Expect(resp.Allowed).To(BeFalse())
		Expect(resp.Result.Code).To(BeNumerically("==", http.StatusUnprocessableEntity))
		Expect(resp.Result.Details.Causes).To(HaveLen(1))
		Expect(resp.Result.Details.Causes[0].Field).To(Equal("spec.ingress[0].protocol"))

		good := bad.DeepCopy()
		good.Spec.Ingress = nil
		resp = review(hc, webhooks+"/mutate-policy-palisade-dev-v1alpha1-networkpolicy", good)
		Expect(resp.Allowed).To(BeTrue())
		Expect(resp.PatchType).NotTo(BeNil())
	})

	It("stops cleanly on SIGTERM", func() {
		Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		Eventually(exited).WithTimeout(30*time.Second).Should(Receive(BeNil()), "output:\n%s", &outBuffer)
	})
})

var _ = Describe("Self-managed certificates", func() {
	It("fill the Secret, inject the CA into Palisade's webhook configurations, and report ready once mounted", func() {
		const ns, secretName = "palisade-system", "rotator-test-cert"
		createNamespace(ns, nil)
		Expect(env.client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName}})).To(Succeed())
		mutating, validating := rotatorTargets("rotator-test")

		mgr, err := ctrl.NewManager(env.cfg, ctrl.Options{Scheme: env.scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
		Expect(err).NotTo(HaveOccurred())
		certDir := GinkgoT().TempDir()
		ready, err := certs.Setup(mgr, certs.Options{
			Source: certs.SelfManaged, Namespace: ns, SecretName: secretName, ServiceName: "palisade-webhook-service", CertDir: certDir,
			MutatingWebhookConfiguration: mutating.Name, ValidatingWebhookConfiguration: validating.Name,
		})
		Expect(err).NotTo(HaveOccurred())
		mctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- mgr.Start(mctx) }()
		DeferCleanup(func() { cancel(); Expect(<-done).To(Succeed()) })

		// Stand in for the kubelet: mount the Secret's keys into the certificate directory once
		// the rotator has written them.
		secret := &corev1.Secret{}
		eventually(func() []byte {
			Expect(env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: secretName}, secret)).To(Succeed())
			return secret.Data["tls.crt"]
		}).WithTimeout(60 * time.Second).ShouldNot(BeEmpty())
		Consistently(ready).WithTimeout(500*time.Millisecond).ShouldNot(BeClosed(), "ready before the certificate was mounted")
		for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
			Expect(os.WriteFile(filepath.Join(certDir, k), secret.Data[k], 0o600)).To(Succeed())
		}
		Eventually(ready).WithTimeout(90 * time.Second).Should(BeClosed())

		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(mutating), mutating)).To(Succeed())
		Expect(env.client.Get(ctx, client.ObjectKeyFromObject(validating), validating)).To(Succeed())
		Expect(mutating.Webhooks[0].ClientConfig.CABundle).To(Equal(secret.Data["ca.crt"]))
		Expect(validating.Webhooks[0].ClientConfig.CABundle).To(Equal(secret.Data["ca.crt"]))

		block, _ := pem.Decode(secret.Data["tls.crt"])
		Expect(block).NotTo(BeNil())
		cert, err := x509.ParseCertificate(block.Bytes)
		Expect(err).NotTo(HaveOccurred())
		Expect(cert.DNSNames).To(ContainElements("palisade-webhook-service.palisade-system.svc", "palisade-webhook-service.palisade-system.svc.cluster.local"))
		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(secret.Data["ca.crt"])).To(BeTrue())
		_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "palisade-webhook-service.palisade-system.svc"})
		Expect(err).NotTo(HaveOccurred(), fmt.Sprintf("the serving certificate does not chain to the injected CA: %v", err))
	})
})

// rotatorTargets creates a mutating and a validating webhook configuration, named prefix-mutating
// and prefix-validating, for a certificate rotator to inject its CA into. They are for a group that
// does not exist, so they intercept nothing.
func rotatorTargets(prefix string) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.ValidatingWebhookConfiguration) {
	GinkgoHelper()
	rules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{"rotator.test.invalid"}, APIVersions: []string{"v1"}, Resources: []string{"things"}},
	}}
	cc := admissionregistrationv1.WebhookClientConfig{URL: ptr.To("https://127.0.0.1:1/never")}
	none := ptr.To(admissionregistrationv1.SideEffectClassNone)
	mutating := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: prefix + "-mutating"},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "m." + prefix + ".test", ClientConfig: cc, Rules: rules, SideEffects: none, AdmissionReviewVersions: []string{"v1"}}},
	}
	validating := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: prefix + "-validating"},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: "v." + prefix + ".test", ClientConfig: cc, Rules: rules, SideEffects: none, AdmissionReviewVersions: []string{"v1"}}},
	}
	Expect(env.client.Create(ctx, mutating)).To(Succeed())
	Expect(env.client.Create(ctx, validating)).To(Succeed())

	return mutating, validating
}
