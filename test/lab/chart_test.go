package lab_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/chartrun"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// The chart installed with the helm CLI into a lab's API server, and Palisade run from the built
// binaries exactly as the installed Deployment and DaemonSet say (read back from the API server),
// by package chartrun, which plays the kubelet, the Service network and (in cert-manager mode)
// cert-manager; its doc.go says what it substitutes and what it does not reproduce.
var _ = Describe("the Helm chart installed into a lab", Ordered, func() {
	var bin string
	BeforeAll(func() {
		if os.Geteuid() != 0 {
			Fail("this spec creates network namespaces and must run as root: sudo make test-e2e")
		}
		bin = GinkgoT().TempDir()
		buildCommands(bin, "palisade-controller", "palisade-enforcer")
		buildHelm(bin)
	})

	It("runs both controller replicas with one leader and the enforcers as the chart says, issues and rotates its own certificate, enforces, survives the leader's death, and keeps enforcing across helm upgrade", func() {
		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))

		By("starting a lab with the pods of examples/default-deny and no policy")
		clusterYAML, err := os.ReadFile("../../examples/default-deny/cluster.yaml")
		Expect(err).NotTo(HaveOccurred())
		set, err := manifestSet(string(clusterYAML))
		Expect(err).NotTo(HaveOccurred())
		l, err := lab.Start(ctx, set, lab.Options{Nodes: 2, ExtraPorts: []uint16{53, 8080, 9100}, APIServerHosts: []string{chartrun.WebhookHost()}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })
		e := &enforcedLab{l: l, ctx: ctx, dir: GinkgoT().TempDir()}
		clusterPath := e.writeManifest("cluster.yaml", string(clusterYAML))
		var refs []string
		for _, p := range l.Plan.Pods {
			refs = append(refs, p.Ref)
		}
		eps := e.endpoints(refs...)
		ports, err := probe.ParsePorts("8080/TCP,9100/TCP,53/TCP,53/UDP")
		Expect(err).NotTo(HaveOccurred())
		open := e.measureUntilAgreed(clusterPath, eps, ports, 5*time.Second)
		Expect(open.diff).To(BeEmpty(), "before Palisade:\n%s", describeDiff(open.diff))

		By("helm install with the chart's defaults (self-signed certificate, two controller replicas)")
		rel := installChart(ctx, l, bin, false)
		Expect(rel.Helm.Status(ctx, chartrun.ReleaseName, chartrun.Namespace)).To(Equal(chartrun.ReleaseStatus{Version: 1, Status: "deployed"}))
		dep, ds, err := rel.Workloads(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(*dep.Spec.Replicas).To(BeEquivalentTo(2))
		Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElements("--zap-log-level=info", "--leader-elect"))
		Expect(rel.Start(ctx)).To(Succeed())
		Expect(rel.Controllers).To(HaveLen(2))
		Expect(rel.Controllers[0].Node).NotTo(Equal(rel.Controllers[1].Node), "the replicas are spread over the nodes")
		Expect(rel.Enforcers).To(HaveLen(len(l.Plan.Nodes)))

		By("running the controllers as the image's non-root user and the enforcers as root, each with GOMEMLIMIT from its memory limit")
		for _, p := range rel.Controllers {
			Expect(processIDs(p.Pid())).To(Equal([2]uint32{65532, 65532}), "%s runs as user and group 65532", p.Name)
			Expect(p.Env).To(HaveKeyWithValue("GOMEMLIMIT", strconv.FormatInt(p.MemoryLimit, 10)), p.Name)
			Expect(p.MemoryLimit).To(BeEquivalentTo(512<<20), "the chart's default controller limit")
		}
		for _, p := range rel.Enforcers {
			Expect(processIDs(p.Pid())).To(Equal([2]uint32{0, 0}), "%s runs as root (runAsUser: 0)", p.Name)
			Expect(p.Env).To(HaveKeyWithValue("GOMEMLIMIT", strconv.FormatInt(p.MemoryLimit, 10)), p.Name)
		}

		By("the controller issued the serving certificate for the Service's name and injected its CA into both webhook configurations")
		caBundle := webhookCABundles(ctx, l.Client)
		servingCert := verifyServingCert(ctx, l.Client, caBundle)

		By("one replica leads; the other serves admission only")
		leader, follower := leaderOf(ctx, l.Client, rel.Controllers)

		By("refusing an invalid policy through the chart's validating webhook, whichever replica answers")
		bad := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-selector", Namespace: "production"},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app = 'web'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}}}}
		for range 4 {
			expectRefused(ctx, l.Client, bad)
		}

		By("killing the leader (SIGKILL): the other replica takes the lease over and admission goes on")
		leader.Kill()
		Eventually(func() string {
			if id := acquiredIdentity(follower); id != "" && id == leaseHolder(ctx, l.Client) {
				return "the follower leads"
			}
			return "the follower's log: " + acquiredIdentity(follower) + "; the lease: " + leaseHolder(ctx, l.Client)
		}).WithTimeout(40*time.Second).WithPolling(500*time.Millisecond).Should(Equal("the follower leads"), "after the leader died")
		expectRefused(ctx, l.Client, bad)

		By("restarting the killed replica, as the kubelet would: it campaigns but does not take the lease back")
		restarted, err := rel.Restart(ctx, leader)
		Expect(err).NotTo(HaveOccurred())
		Expect(restarted.Log()).To(ContainSubstring("Attempting to acquire leader lease"))
		Consistently(func() string { return acquiredIdentity(restarted) }).WithTimeout(5*time.Second).WithPolling(500*time.Millisecond).
			Should(BeEmpty(), "the restarted replica follows")
		Expect(leaseHolder(ctx, l.Client)).To(Equal(acquiredIdentity(follower)))

		By("enforcing examples/default-deny's namespace policies, made Immediate, with packets; the new leader moves them to Enforced")
		policies := immediatePolicies("../../examples/default-deny/namespace.yaml")
		for _, p := range policies {
			Expect(l.Client.Create(ctx, p.DeepCopy())).To(Succeed(), "creating %s through the webhooks", p.Name)
		}
		worldPath := e.writeManifest("world.yaml", string(clusterYAML)+policyYAML(policies))
		enforced := e.measureUntilAgreed(worldPath, eps, ports, 45*time.Second)
		Expect(enforced.diff).To(BeEmpty(), "packets and the engine disagree after %d probes:\n%s", enforced.attempts, describeDiff(enforced.diff))
		Expect(cell(enforced.measured, "staging/preview", "production/web", "8080/TCP")).To(BeFalse(), "default deny of production")
		Expect(cell(enforced.measured, "production/client", "production/web", "8080/TCP")).To(BeTrue(), "client-to-web")
		Expect(cell(enforced.measured, "production/client", "kube-system/coredns", "53/UDP")).To(BeTrue(), "allow-dns")
		Expect(cell(enforced.measured, "staging/preview", "kube-system/coredns", "53/UDP")).To(BeTrue(), "a flow no policy selects")
		for _, p := range policies {
			Eventually(func() v1alpha1.RolloutPhase {
				got := &v1alpha1.NetworkPolicy{}
				Expect(l.Client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
				return got.Status.Phase
			}, 30*time.Second, 200*time.Millisecond).Should(Equal(v1alpha1.PhaseEnforced), "policy %s", p.Name)
		}
		Expect(follower.Log()).To(ContainSubstring("acquired the lease"))
		for _, p := range rel.Enforcers {
			Expect(p.Log()).NotTo(ContainSubstring(`"level":"debug"`), "%s at the installed level info", p.Name)
		}

		By("rotating the certificate: with the Secret emptied, the controller issues a new one, injects its CA and serves it")
		secret := &corev1.Secret{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: chartrun.Namespace, Name: chartrun.WebhookSecret}, secret)).To(Succeed())
		secret.Data = nil
		Expect(l.Client.Update(ctx, secret)).To(Succeed())
		Eventually(func() []byte { return webhookCABundles(ctx, l.Client) }).WithTimeout(60*time.Second).WithPolling(time.Second).
			ShouldNot(Equal(caBundle), "a new CA in the webhook configurations")
		caBundle = webhookCABundles(ctx, l.Client)
		rotated := verifyServingCert(ctx, l.Client, caBundle)
		Expect(rotated).NotTo(Equal(servingCert))
		Eventually(func() error { return refusal(ctx, l.Client, bad) }).WithTimeout(60*time.Second).WithPolling(time.Second).
			Should(Succeed(), "the webhook serves the rotated certificate")

		By("helm upgrade with debug logging keeps the issued certificate")
		Expect(rel.Upgrade(ctx, "--set", "controller.logLevel=debug", "--set", "enforcer.logLevel=debug")).To(Succeed())
		Expect(rel.Helm.Status(ctx, chartrun.ReleaseName, chartrun.Namespace)).To(Equal(chartrun.ReleaseStatus{Version: 2, Status: "deployed"}))
		dep2, ds2, err := rel.Workloads(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(dep2.Generation).To(BeNumerically(">", dep.Generation))
		Expect(ds2.Generation).To(BeNumerically(">", ds.Generation))
		for _, args := range [][]string{dep2.Spec.Template.Spec.Containers[0].Args, ds2.Spec.Template.Spec.Containers[0].Args} {
			Expect(args).To(ContainElement("--zap-log-level=debug"))
			Expect(args).NotTo(ContainElement("--zap-log-level=info"))
		}
		Expect(verifyServingCert(ctx, l.Client, webhookCABundles(ctx, l.Client))).To(Equal(rotated), "the upgrade kept the certificate and the injected CA")

		By("the pods stayed within their memory limits")
		for _, p := range rel.Pods() {
			if p.Running() {
				Expect(p.PeakRSS()).To(And(BeNumerically(">", 0), BeNumerically("<", p.MemoryLimit)), "%s's peak resident memory", p.Name)
			}
		}

		By("restarting the pods with the upgraded objects: enforcement unchanged")
		programmed := e.fingerprint()
		rel.Stop()
		Expect(rel.Start(ctx)).To(Succeed())
		Expect(e.fingerprint()).To(Equal(programmed), "the restarted enforcers programmed other rules or sets")
		for _, p := range rel.Pods() {
			Expect(p.Argv).To(ContainElement("--zap-log-level=debug"), p.Name)
		}
		after := e.measureUntilAgreed(worldPath, eps, ports, 30*time.Second)
		Expect(after.diff).To(BeEmpty(), "after the upgrade:\n%s", describeDiff(after.diff))
		Expect(after.measured).To(Equal(enforced.measured), "the measured matrix changed across the upgrade")
		expectRefused(ctx, l.Client, bad)
		for _, p := range rel.Enforcers {
			Expect(p.Log()).To(ContainSubstring(`"level":"debug"`), "%s logs at the upgraded level", p.Name)
		}
	})

	It("in cert-manager mode, serves admission with the certificate cert-manager issued and the CA its cainjector injected", func() {
		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		clusterYAML, err := os.ReadFile("../../examples/default-deny/cluster.yaml")
		Expect(err).NotTo(HaveOccurred())
		set, err := manifestSet(string(clusterYAML))
		Expect(err).NotTo(HaveOccurred())
		l, err := lab.Start(ctx, set, lab.Options{Nodes: 2, APIServerHosts: []string{chartrun.WebhookHost()}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(l.Close()).To(Succeed()) })

		rel := installChart(ctx, l, bin, true)
		dep, _, err := rel.Workloads(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--cert-source=cert-manager"))
		Expect(rel.Start(ctx)).To(Succeed())
		issued := &corev1.Secret{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: chartrun.Namespace, Name: chartrun.WebhookSecret}, issued)).To(Succeed())
		Expect(verifyServingCert(ctx, l.Client, webhookCABundles(ctx, l.Client))).To(Equal(issued.Data["tls.crt"]))
		bad := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-selector", Namespace: "production"},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app = 'web'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}}}}
		expectRefused(ctx, l.Client, bad)
		for _, p := range rel.Controllers {
			Expect(p.Log()).NotTo(ContainSubstring("palisade-webhook-ca"), "%s generated no certificate of its own", p.Name)
		}
	})
})

// installChart runs helm install of charts/palisade into l (in cert-manager mode when asked) and
// stops the release's pods, and prints their logs when the spec failed, at cleanup.
func installChart(ctx context.Context, l *lab.Lab, bin string, certManager bool) *chartrun.Release {
	GinkgoHelper()
	rel, err := chartrun.Install(ctx, chartrun.Options{
		Lab: l, Chart: "../../charts/palisade", Helm: filepath.Join(bin, "helm"), CertManager: certManager,
		Controller: filepath.Join(bin, "palisade-controller"), Enforcer: filepath.Join(bin, "palisade-enforcer"),
	})
	Expect(err).NotTo(HaveOccurred())
	GinkgoWriter.Printf("$ helm install ...\n%s\n", rel.Output)
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			for _, p := range rel.Pods() {
				GinkgoWriter.Printf("--- %s (%s):\n%s\n", p.Name, p.LogPath, lastLines(p.Log(), 60))
			}
		}
		Expect(rel.Close()).To(Succeed())
	})
	return rel
}

var refusedRE = regexp.MustCompile(`admission webhook "[^"]+" denied the request: .*spec\.selector`)

// refusal is nil when creating bad is refused by the chart's validating webhook.
func refusal(ctx context.Context, c client.Client, bad *v1alpha1.NetworkPolicy) error {
	err := c.Create(ctx, bad.DeepCopy())
	if err == nil {
		return fmt.Errorf("%s was admitted", bad.Name)
	}
	if !refusedRE.MatchString(err.Error()) {
		return fmt.Errorf("not refused by the webhook: %w", err)
	}
	return nil
}

func expectRefused(ctx context.Context, c client.Client, bad *v1alpha1.NetworkPolicy) {
	GinkgoHelper()
	Expect(refusal(ctx, c, bad)).To(Succeed())
}

// webhookCABundles is the caBundle of every webhook of the chart's two configurations, which must
// all be the same and not empty.
func webhookCABundles(ctx context.Context, c client.Client) []byte {
	GinkgoHelper()
	var bundles [][]byte
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	Expect(c.Get(ctx, client.ObjectKey{Name: "palisade-validating-webhook-configuration"}, v)).To(Succeed())
	for _, w := range v.Webhooks {
		bundles = append(bundles, w.ClientConfig.CABundle)
	}
	m := &admissionregistrationv1.MutatingWebhookConfiguration{}
	if err := c.Get(ctx, client.ObjectKey{Name: "palisade-mutating-webhook-configuration"}, m); err == nil {
		for _, w := range m.Webhooks {
			bundles = append(bundles, w.ClientConfig.CABundle)
		}
	}
	Expect(bundles).NotTo(BeEmpty())
	for _, b := range bundles {
		Expect(b).To(Equal(bundles[0]), "every webhook trusts the same CA")
	}
	Expect(bundles[0]).NotTo(BeEmpty(), "the caBundle is injected")
	return bundles[0]
}

// verifyServingCert checks that the webhook Secret's certificate is valid for the Service's DNS
// name under caBundle, and returns it.
func verifyServingCert(ctx context.Context, c client.Client, caBundle []byte) []byte {
	GinkgoHelper()
	s := &corev1.Secret{}
	Expect(c.Get(ctx, client.ObjectKey{Namespace: chartrun.Namespace, Name: chartrun.WebhookSecret}, s)).To(Succeed())
	block, _ := pem.Decode(s.Data["tls.crt"])
	Expect(block).NotTo(BeNil(), "the Secret holds a certificate")
	cert, err := x509.ParseCertificate(block.Bytes)
	Expect(err).NotTo(HaveOccurred())
	roots := x509.NewCertPool()
	Expect(roots.AppendCertsFromPEM(caBundle)).To(BeTrue())
	_, err = cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: chartrun.WebhookHost()})
	Expect(err).NotTo(HaveOccurred(), "the serving certificate under the injected CA")
	return s.Data["tls.crt"]
}

// leaseName is palisade-controller's Lease (cmd/palisade-controller/main.go).
const leaseName = "palisade-controller.policy.palisade.dev"

func leaseHolder(ctx context.Context, c client.Client) string {
	l := &coordinationv1.Lease{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: chartrun.Namespace, Name: leaseName}, l); err != nil || l.Spec.HolderIdentity == nil {
		return ""
	}
	return *l.Spec.HolderIdentity
}

var acquiredRE = regexp.MustCompile(`"msg":"acquired the lease".*"identity":"([^"]+)"`)

// acquiredIdentity is the identity a controller's log says it acquired the lease as ("" if not).
func acquiredIdentity(p *chartrun.Pod) string {
	m := acquiredRE.FindStringSubmatch(p.Log())
	if m == nil {
		return ""
	}
	return m[1]
}

// leaderOf waits until one replica has acquired the Lease and holds it, and the other has not.
func leaderOf(ctx context.Context, c client.Client, replicas []*chartrun.Pod) (leader, follower *chartrun.Pod) {
	GinkgoHelper()
	Expect(replicas).To(HaveLen(2))
	Eventually(func() int {
		leader, follower = nil, nil
		for _, p := range replicas {
			if id := acquiredIdentity(p); id != "" && id == leaseHolder(ctx, c) {
				leader = p
			} else {
				follower = p
			}
		}
		if leader == nil || follower == nil || acquiredIdentity(follower) != "" {
			return 0
		}
		return 1
	}).WithTimeout(40*time.Second).WithPolling(500*time.Millisecond).Should(Equal(1), "one replica leads")
	return leader, follower
}

// processIDs are the real user and group of a process.
func processIDs(pid int) [2]uint32 {
	GinkgoHelper()
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	Expect(err).NotTo(HaveOccurred())
	var out [2]uint32
	for _, l := range strings.Split(string(b), "\n") {
		for i, key := range []string{"Uid:", "Gid:"} {
			if rest, ok := strings.CutPrefix(l, key); ok {
				v, err := strconv.ParseUint(strings.Fields(rest)[0], 10, 32)
				Expect(err).NotTo(HaveOccurred())
				out[i] = uint32(v)
			}
		}
	}
	return out
}

// immediatePolicies are the NetworkPolicies of path with spec.rollout.strategy Immediate.
func immediatePolicies(path string) []*v1alpha1.NetworkPolicy {
	text, err := os.ReadFile(path)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	set, err := manifestSet(string(text))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	ExpectWithOffset(1, set.NetworkPolicies).NotTo(BeEmpty())
	var out []*v1alpha1.NetworkPolicy
	for _, x := range set.NetworkPolicies {
		p := x.Object.DeepCopy()
		p.SetResourceVersion("")
		p.Spec.Rollout = &v1alpha1.RolloutSpec{Strategy: v1alpha1.RolloutImmediate}
		out = append(out, p)
	}
	return out
}

// policyYAML writes policies as manifest documents, for the engine.
func policyYAML(policies []*v1alpha1.NetworkPolicy) string {
	var b strings.Builder
	for _, p := range policies {
		p = p.DeepCopy()
		p.APIVersion, p.Kind = v1alpha1.GroupVersion.String(), "NetworkPolicy"
		y, err := yaml.Marshal(p)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		b.WriteString("---\n")
		b.Write(y)
	}
	return b.String()
}
