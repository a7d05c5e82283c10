package webhookintegration

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/output"
)

// shippedArgs returns the manager container's args from config/manager/manager.yaml with the
// addresses and paths a test on loopback must change replaced (the rest, leader election and
// secure metrics among them, as shipped), followed by extra.
func shippedArgs(replace map[string]string, extra ...string) []string {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "manager", "manager.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var d appsv1.Deployment
	Expect(yaml.UnmarshalStrict(raw, &d)).To(Succeed())
	var args []string
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name != "manager" {
			continue
		}
		for _, a := range c.Args {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if v, ok := replace[name]; ok {
				a = "--" + name + "=" + v
				delete(replace, name)
			}
			args = append(args, a)
		}
	}
	Expect(args).To(ContainElement("--leader-elect"), "the Deployment no longer enables leader election; this spec exercises it")
	Expect(replace).To(BeEmpty(), "flags the Deployment does not pass")
	return append(args, extra...)
}

var _ = Describe("The palisade-controller binary with the Deployment's flags", Ordered, func() {
	const (
		ns         = "palisade-shipped"
		secretName = "shipped-webhook-cert"
		lease      = "palisade-controller.policy.palisade.dev"
	)
	var (
		cmd                       *exec.Cmd
		exited                    chan error
		out                       output.Buffer
		probes, webhooks, metrics string
		certDir                   string
		cs                        *kubernetes.Clientset
	)

	BeforeAll(func() {
		dir := GinkgoT().TempDir()
		bin := filepath.Join(dir, "palisade-controller")
		build := exec.Command("go", "build", "-o", bin, "./cmd/palisade-controller")
		build.Dir = repoRoot
		b, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building: %s", b)
		kubeconfig, err := env.kubeconfig(dir)
		Expect(err).NotTo(HaveOccurred())
		cs, err = kubernetes.NewForConfig(env.cfg)
		Expect(err).NotTo(HaveOccurred())

		createNamespace(ns, nil)
		// As config/manager ships it: an empty Secret the rotator fills.
		Expect(env.client.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: secretName}})).To(Succeed())
		mutating, validating := rotatorTargets("shipped")

		webhookPort, probePort, metricsPort := freePort(), freePort(), freePort()
		probes = "http://127.0.0.1:" + strconv.Itoa(probePort)
		webhooks = "https://127.0.0.1:" + strconv.Itoa(webhookPort)
		metrics = "https://127.0.0.1:" + strconv.Itoa(metricsPort)
		certDir = filepath.Join(dir, "certs")
		Expect(os.Mkdir(certDir, 0o700)).To(Succeed())
		args := shippedArgs(map[string]string{
			"health-probe-bind-address": "127.0.0.1:" + strconv.Itoa(probePort),
			"metrics-bind-address":      "127.0.0.1:" + strconv.Itoa(metricsPort),
			"webhook-port":              strconv.Itoa(webhookPort),
			"webhook-cert-dir":          certDir,
		},
			"--namespace="+ns,
			"--webhook-secret-name="+secretName,
			"--mutating-webhook-configuration="+mutating.Name,
			"--validating-webhook-configuration="+validating.Name,
		)
		cmd = exec.Command(bin, args...)
		cmd.Env = []string{"KUBECONFIG=" + kubeconfig, "HOME=" + dir}
		cmd.Stdout, cmd.Stderr = &out, &out
		Expect(cmd.Start()).To(Succeed())
		exited = make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		DeferCleanup(func() {
			if cmd.ProcessState == nil {
				_ = cmd.Process.Kill()
				Eventually(exited).WithTimeout(10 * time.Second).Should(Receive())
			}
		})
	})

	var webhookClient *http.Client

	It("issues its own certificate and becomes ready once it is mounted", func() {
		// Stand in for the kubelet: mount the Secret once the rotator has filled it.
		secret := &corev1.Secret{}
		eventually(func() []byte {
			Expect(env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: secretName}, secret)).To(Succeed())
			return secret.Data["tls.crt"]
		}).WithTimeout(60*time.Second).ShouldNot(BeEmpty(), "output:\n%s", &out)
		for _, k := range []string{"tls.crt", "tls.key", "ca.crt"} {
			Expect(os.WriteFile(filepath.Join(certDir, k), secret.Data[k], 0o600)).To(Succeed())
		}
		eventually(func() int { return status(http.DefaultClient, probes+"/readyz", "") }).WithTimeout(90*time.Second).
			Should(Equal(http.StatusOK), "output:\n%s", &out)

		roots := x509.NewCertPool()
		Expect(roots.AppendCertsFromPEM(secret.Data["ca.crt"])).To(BeTrue())
		// The certificate names the Service, not 127.0.0.1: verify it for the Service's name.
		webhookClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, ServerName: "palisade-webhook-service." + ns + ".svc", MinVersion: tls.VersionTLS12,
		}}}
		resp := review(webhookClient, webhooks+"/validate-policy-palisade-dev-v1alpha1-networkpolicy", invalidPolicy())
		Expect(resp.Allowed).To(BeFalse())
	})

	It("serves metrics only to a caller the API server authorizes", func() {
		insecure := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
		Expect(status(insecure, metrics+"/metrics", "")).To(Equal(http.StatusUnauthorized))

		// The metrics server caches the API server's decisions (denials for 30 s), so the caller
		// that is refused and the one that is allowed are two service accounts.
		token := func(name string) string {
			sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
			Expect(env.client.Create(ctx, sa)).To(Succeed())
			tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, sa.Name, &authenticationv1.TokenRequest{
				Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](600)},
			}, metav1.CreateOptions{})
			Expect(err).NotTo(HaveOccurred())
			return tr.Status.Token
		}
		Expect(status(insecure, metrics+"/metrics", token("stranger"))).To(Equal(http.StatusForbidden))
		scraper := token("scraper")

		// The ClusterRole config/rbac ships for scrapers.
		raw, err := os.ReadFile(filepath.Join(repoRoot, "config", "rbac", "metrics_reader_role.yaml"))
		Expect(err).NotTo(HaveOccurred())
		role := &rbacv1.ClusterRole{}
		Expect(yaml.UnmarshalStrict(raw, role)).To(Succeed())
		Expect(env.client.Create(ctx, role)).To(Succeed())
		Expect(env.client.Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "shipped-scraper"},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Namespace: ns, Name: "scraper"}},
		})).To(Succeed())
		eventually(func() int { return status(insecure, metrics+"/metrics", scraper) }).Should(Equal(http.StatusOK))
	})

	It("holds the lease, and losing it stops neither admission nor the process, but fails /healthz", func() {
		l := &coordinationv1.Lease{}
		eventually(func() string {
			if err := env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: lease}, l); err != nil {
				return ""
			}
			return ptr.Deref(l.Spec.HolderIdentity, "")
		}).ShouldNot(BeEmpty(), "output:\n%s", &out)
		Expect(*l.Spec.HolderIdentity).NotTo(Equal("another-replica"))

		// Another replica takes the lease (as after a network partition). The holder renews it
		// every few seconds, so the write can race a renewal: read again and retry on a conflict,
		// as a replica's leader election does.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: lease}, l); err != nil {
				return err
			}
			l.Spec.HolderIdentity = ptr.To("another-replica")
			l.Spec.LeaseDurationSeconds = ptr.To[int32](3600)
			l.Spec.RenewTime = &metav1.MicroTime{Time: time.Now()}
			return env.client.Update(ctx, l)
		})).To(Succeed())
		eventually(func() string { return out.String() }).WithTimeout(30 * time.Second).Should(ContainSubstring("lost the lease"))

		Consistently(exited).WithTimeout(3*time.Second).ShouldNot(Receive(), "output:\n%s", &out)
		Expect(status(http.DefaultClient, probes+"/readyz", "")).To(Equal(http.StatusOK))
		resp := review(webhookClient, webhooks+"/validate-policy-palisade-dev-v1alpha1-networkpolicy", invalidPolicy())
		Expect(resp.Allowed).To(BeFalse(), "the webhook answers while another replica leads")

		// The rollout controllers cannot restart in this process: it does not campaign again, and
		// /healthz fails so that the kubelet restarts the replica gracefully.
		eventually(func() int { return status(http.DefaultClient, probes+"/healthz", "") }).Should(Equal(http.StatusInternalServerError), "output:\n%s", &out)
		Expect(env.client.Delete(ctx, l)).To(Succeed())
	})

	It("stops cleanly on SIGTERM and releases the lease", func() {
		Expect(cmd.Process.Signal(syscall.SIGTERM)).To(Succeed())
		Eventually(exited).WithTimeout(40*time.Second).Should(Receive(BeNil()), "output:\n%s", &out)
		l := &coordinationv1.Lease{}
		err := env.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: lease}, l)
		if !apierrors.IsNotFound(err) {
			Expect(err).NotTo(HaveOccurred())
			Expect(ptr.Deref(l.Spec.HolderIdentity, "")).To(BeEmpty(), "released on shutdown")
		}
	})
})

// status GETs url, with token as a bearer token unless empty, and returns the HTTP status; 0 when
// the request fails.
func status(hc *http.Client, url, token string) int {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	_ = resp.Body.Close()
	return resp.StatusCode
}

// invalidPolicy is a NetworkPolicy the validating webhook refuses (a lowercase protocol).
func invalidPolicy() *v1alpha1.NetworkPolicy {
	bad := &v1alpha1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "policy.palisade.dev/v1alpha1", Kind: "NetworkPolicy"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "controller-binary", Name: "bad"},
	}
	bad.Spec.Ingress = []v1alpha1.Rule{{Action: v1alpha1.Allow, Protocol: ptr.To(v1alpha1.ProtocolFromString("tcp"))}}
	return bad
}
