package lab_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// chartNS is the release namespace, as in docs/install.md.
const chartNS = "palisade-system"

// The chart installed with the helm CLI into a lab's API server, and Palisade run from the built
// binaries exactly as the installed Deployment and DaemonSet say (read back from the API server).
//
// The lab has no kubelet, no Service network and no cert-manager, so the spec plays their parts,
// and nothing else:
//   - kubelet: it starts each container's program with the container's args and env (downward API
//     filled: POD_NAMESPACE, NODE_NAME; $(VAR) expanded), the controller in a node's network
//     namespace (a pod's own would do: it only isolates the ports), one enforcer per node in that
//     node's namespace (hostNetwork), probes their readiness endpoints there, and copies the
//     webhook certificate Secret into a directory (the Secret volume);
//   - Service network: the webhook configurations' service reference is replaced, by a Helm
//     post-renderer, with a loopback URL forwarded into the controller's namespace on the
//     Service's target port;
//   - cert-manager (the chart is installed in its cert-manager mode, since the self-rotated
//     certificate names the Service's DNS name, which the lab cannot resolve): stub CRDs for
//     Issuer and Certificate, a serving certificate for the loopback address written into the
//     Secret the Certificate names, and its CA put into the caBundle (by the same post-renderer).
//
// Substitutions in the argument vectors, and only these: the added --kubeconfig (the in-cluster
// config has no service account token here); the image's program path replaced by the built
// binary; the Secret volume's mount path in --webhook-cert-dir replaced by the directory the
// spec fills from the Secret. The enforcer's hostPath /run/xtables.lock is the machine's own, at the
// same path. Not reproduced: the containers' security contexts (the processes run as the test's
// root user, not with only NET_ADMIN and NET_RAW or as non-root), resource limits, and the
// Deployment's second replica (one process serves the webhooks; a second would need another
// network namespace and prove nothing more here).
var _ = Describe("the Helm chart installed into a lab", func() {
	It("runs the controller and the enforcers as its Deployment and DaemonSet say, enforces an Immediate policy, and keeps enforcing across helm upgrade", func() {
		if os.Geteuid() != 0 {
			Fail("this spec creates network namespaces and must run as root: sudo make test-e2e")
		}
		ctx := log.IntoContext(context.Background(), zap.New(zap.WriteTo(GinkgoWriter)))
		bin := GinkgoT().TempDir()
		out, err := exec.Command("go", "build", "-o", bin+"/", "../../cmd/palisade-controller", "../../cmd/palisade-enforcer").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building the binaries: %s", out)
		// The helm CLI of test/chart's go.mod (helm.sh/helm/v4), kept out of the root module.
		out, err = exec.Command("go", "build", "-C", "../chart", "-o", filepath.Join(bin, "helm"), "helm.sh/helm/v4/cmd/helm").CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "building helm from test/chart's go.mod: %s", out)

		By("starting a lab with the pods of examples/default-deny and no policy")
		clusterYAML, err := os.ReadFile("../../examples/default-deny/cluster.yaml")
		Expect(err).NotTo(HaveOccurred())
		set, err := manifestSet(string(clusterYAML))
		Expect(err).NotTo(HaveOccurred())
		l, err := lab.Start(ctx, set, lab.Options{Nodes: 2, ExtraPorts: []uint16{53, 8080, 9100}})
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

		ctlNode := l.Plan.Nodes[0].Name
		ctlNS, _ := l.NodeNS(ctlNode)
		var webhookTarget atomic.Pointer[string]
		serviceAddr, stopForward := forwardInto(ctlNS, &webhookTarget)
		DeferCleanup(stopForward)
		certs := envtest.WebhookInstallOptions{LocalServingHost: "127.0.0.1"}
		Expect(certs.PrepWithoutInstalling()).To(Succeed())
		DeferCleanup(certs.Cleanup)
		installCertManagerStubs(ctx, l.Client)

		h := newHelmRunner(bin, l.Kubeconfig, "https://"+serviceAddr, certs.LocalServingCAData)
		By("helm install")
		h.run("install", "palisade", "../../charts/palisade", "-n", chartNS, "--create-namespace",
			"--set", "certificates.mode=cert-manager", "--post-renderer", "lab-webhooks")
		Expect(h.status()).To(Equal(releaseStatus{Version: 1, Status: "deployed"}))
		// What cert-manager would do for the chart's Certificate: issue into its Secret.
		tlsCrt, err := os.ReadFile(filepath.Join(certs.LocalServingCertDir, "tls.crt"))
		Expect(err).NotTo(HaveOccurred())
		tlsKey, err := os.ReadFile(filepath.Join(certs.LocalServingCertDir, "tls.key"))
		Expect(err).NotTo(HaveOccurred())
		Expect(l.Client.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: "palisade-webhook-server-cert", Namespace: chartNS},
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{"tls.crt": tlsCrt, "tls.key": tlsKey, "ca.crt": certs.LocalServingCAData},
		})).To(Succeed())

		run := &chartRun{ctx: ctx, l: l, bin: bin, ctlNode: ctlNode, ctlNS: ctlNS, webhookTarget: &webhookTarget}
		dep, ds := run.readWorkloads()
		Expect(*dep.Spec.Replicas).To(BeEquivalentTo(2))
		Expect(dep.Spec.Template.Spec.Containers[0].Args).To(ContainElement("--zap-log-level=info"))
		DeferCleanup(run.stop)
		DeferCleanup(run.dumpLogs)
		run.start(dep, ds)

		By("refusing an invalid policy through the chart's validating webhook")
		bad := &v1alpha1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-selector", Namespace: "production"},
			Spec: v1alpha1.NetworkPolicySpec{PolicySpec: v1alpha1.PolicySpec{Selector: "app = 'web'", Types: []v1alpha1.PolicyType{v1alpha1.PolicyTypeIngress}}}}
		err = l.Client.Create(ctx, bad)
		Expect(err).To(HaveOccurred())
		GinkgoWriter.Printf("refused: %v\n", err)
		Expect(err.Error()).To(MatchRegexp(`admission webhook "[^"]+" denied the request: .*spec\.selector`), "refused by the webhook the chart registered")

		By("enforcing examples/default-deny's namespace policies, made Immediate, with packets")
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
		GinkgoWriter.Printf("enforced after %d probes in %v\n", enforced.attempts, enforced.took.Round(time.Millisecond))
		// The controller's rollout operator moves an Immediate policy to Enforced.
		for _, p := range policies {
			Eventually(func() v1alpha1.RolloutPhase {
				got := &v1alpha1.NetworkPolicy{}
				Expect(l.Client.Get(ctx, client.ObjectKeyFromObject(p), got)).To(Succeed())
				return got.Status.Phase
			}, 30*time.Second, 200*time.Millisecond).Should(Equal(v1alpha1.PhaseEnforced), "policy %s", p.Name)
		}

		for _, n := range l.Plan.Nodes {
			Expect(run.logSinceStart("palisade-enforcer on "+n.Name)).NotTo(ContainSubstring(`"level":"debug"`), "at the installed level info")
		}

		By("helm upgrade with debug logging")
		h.run("upgrade", "palisade", "../../charts/palisade", "-n", chartNS,
			"--set", "certificates.mode=cert-manager", "--set", "controller.logLevel=debug", "--set", "enforcer.logLevel=debug",
			"--post-renderer", "lab-webhooks")
		Expect(h.status()).To(Equal(releaseStatus{Version: 2, Status: "deployed"}))
		dep2, ds2 := run.readWorkloads()
		Expect(dep2.Generation).To(BeNumerically(">", dep.Generation))
		Expect(ds2.Generation).To(BeNumerically(">", ds.Generation))
		for _, args := range [][]string{dep2.Spec.Template.Spec.Containers[0].Args, ds2.Spec.Template.Spec.Containers[0].Args} {
			Expect(args).To(ContainElement("--zap-log-level=debug"))
			Expect(args).NotTo(ContainElement("--zap-log-level=info"))
		}
		secret := &corev1.Secret{}
		Expect(l.Client.Get(ctx, client.ObjectKey{Namespace: chartNS, Name: "palisade-webhook-server-cert"}, secret)).To(Succeed())
		Expect(secret.Data["tls.crt"]).To(Equal(tlsCrt), "the upgrade kept the issued certificate")

		By("restarting the binaries with the upgraded objects' args: enforcement unchanged")
		programmed := e.fingerprint()
		run.stop()
		run.start(dep2, ds2)
		Expect(e.fingerprint()).To(Equal(programmed), "the restarted enforcers programmed other rules or sets")
		for _, p := range run.procs {
			Expect(p.cmd.Args).To(ContainElement("--zap-log-level=debug"), p.name)
		}
		after := e.measureUntilAgreed(worldPath, eps, ports, 30*time.Second)
		Expect(after.diff).To(BeEmpty(), "after the upgrade:\n%s", describeDiff(after.diff))
		Expect(after.measured).To(Equal(enforced.measured), "the measured matrix changed across the upgrade")
		err = l.Client.Create(ctx, bad.DeepCopy())
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(MatchRegexp(`admission webhook "[^"]+" denied the request: .*spec\.selector`), "the restarted controller serves the webhook")
		for _, n := range l.Plan.Nodes {
			Expect(run.logSinceStart("palisade-enforcer on "+n.Name)).To(ContainSubstring(`"level":"debug"`), "the restarted enforcer logs at the upgraded level")
		}
	})
})

// chartRun runs the chart's workloads from the built binaries.
type chartRun struct {
	ctx           context.Context
	l             *lab.Lab
	bin           string
	ctlNode       string
	ctlNS         *netns.NS
	webhookTarget *atomic.Pointer[string]
	procs         []*podProcess
}

func (r *chartRun) readWorkloads() (*appsv1.Deployment, *appsv1.DaemonSet) {
	dep := &appsv1.Deployment{}
	ExpectWithOffset(1, r.l.Client.Get(r.ctx, client.ObjectKey{Namespace: chartNS, Name: "palisade-controller"}, dep)).To(Succeed())
	ds := &appsv1.DaemonSet{}
	ExpectWithOffset(1, r.l.Client.Get(r.ctx, client.ObjectKey{Namespace: chartNS, Name: "palisade-enforcer"}, ds)).To(Succeed())
	ExpectWithOffset(1, dep.Spec.Template.Spec.Containers).To(HaveLen(1))
	ExpectWithOffset(1, ds.Spec.Template.Spec.Containers).To(HaveLen(1))
	ExpectWithOffset(1, ds.Spec.Template.Spec.HostNetwork).To(BeTrue(), "the enforcer runs in the node's namespace")
	return dep, ds
}

// start runs the controller and one enforcer per node and waits until each is ready.
func (r *chartRun) start(dep *appsv1.Deployment, ds *appsv1.DaemonSet) {
	logDir := filepath.Join(r.l.Dir, "chart")
	ExpectWithOffset(1, os.MkdirAll(logDir, 0o700)).To(Succeed())
	kubeconfig, _ := r.l.NodeKubeconfig(r.ctlNode)

	c := dep.Spec.Template.Spec.Containers[0]
	env := containerEnv(c, chartNS, r.ctlNode)
	argv := containerArgv(c, env, filepath.Join(r.bin, "palisade-controller"))
	certDir := r.secretVolume(dep.Spec.Template.Spec, c, "--webhook-cert-dir=", argv)
	for i, a := range argv {
		if mount, ok := strings.CutPrefix(a, "--webhook-cert-dir="); ok && mount != certDir {
			argv[i] = "--webhook-cert-dir=" + certDir
		}
	}
	argv = append(argv, "--kubeconfig="+kubeconfig)
	target := "127.0.0.1:" + strconv.Itoa(int(containerPort(c, "webhook-server")))
	r.webhookTarget.Store(&target)
	ctl := startPodProcess("palisade-controller", r.ctlNS, argv, env, filepath.Join(logDir, "controller.log"))
	r.procs = append(r.procs, ctl)

	e := ds.Spec.Template.Spec.Containers[0]
	var enforcers []*podProcess
	for _, n := range r.l.Plan.Nodes {
		ns, _ := r.l.NodeNS(n.Name)
		kc, _ := r.l.NodeKubeconfig(n.Name)
		env := containerEnv(e, chartNS, n.Name)
		argv := append(containerArgv(e, env, filepath.Join(r.bin, "palisade-enforcer")), "--kubeconfig="+kc)
		p := startPodProcess("palisade-enforcer on "+n.Name, ns, argv, env, filepath.Join(logDir, "enforcer-"+n.Name+".log"))
		r.procs = append(r.procs, p)
		enforcers = append(enforcers, p)
	}
	ctl.waitReady(r.ctx, probeURL(c, c.ReadinessProbe), 90*time.Second)
	ctl.waitReady(r.ctx, probeURL(c, c.LivenessProbe), 5*time.Second)
	for _, p := range enforcers {
		p.waitReady(r.ctx, probeURL(e, e.ReadinessProbe), 90*time.Second)
		p.waitReady(r.ctx, probeURL(e, e.LivenessProbe), 5*time.Second)
	}
}

// secretVolume plays the kubelet's Secret volume: it finds the volume mounted where the flag
// named by flagPrefix in argv points, reads its Secret from the API server and writes each key
// as a file of a directory, which it returns.
func (r *chartRun) secretVolume(spec corev1.PodSpec, c corev1.Container, flagPrefix string, argv []string) string {
	i := slices.IndexFunc(argv, func(a string) bool { return strings.HasPrefix(a, flagPrefix) })
	ExpectWithOffset(1, i).To(BeNumerically(">=", 0), "the controller's args have no %s", flagPrefix)
	mountPath := strings.TrimPrefix(argv[i], flagPrefix)
	m := slices.IndexFunc(c.VolumeMounts, func(v corev1.VolumeMount) bool { return v.MountPath == mountPath })
	ExpectWithOffset(1, m).To(BeNumerically(">=", 0), "no volume is mounted at %s", mountPath)
	v := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[m].Name })
	ExpectWithOffset(1, v).To(BeNumerically(">=", 0))
	ExpectWithOffset(1, spec.Volumes[v].Secret).NotTo(BeNil(), "volume %s is not a Secret", spec.Volumes[v].Name)
	secret := &corev1.Secret{}
	ExpectWithOffset(1, r.l.Client.Get(r.ctx, client.ObjectKey{Namespace: chartNS, Name: spec.Volumes[v].Secret.SecretName}, secret)).To(Succeed())
	dir := filepath.Join(r.l.Dir, "chart", "volumes", spec.Volumes[v].Name)
	ExpectWithOffset(1, os.MkdirAll(dir, 0o700)).To(Succeed())
	for k, data := range secret.Data {
		ExpectWithOffset(1, os.WriteFile(filepath.Join(dir, k), data, 0o600)).To(Succeed())
	}
	return dir
}

// dumpLogs prints the processes' logs when the spec failed.
func (r *chartRun) dumpLogs() {
	if !CurrentSpecReport().Failed() {
		return
	}
	for _, p := range r.procs {
		GinkgoWriter.Printf("--- %s (%s):\n%s\n", p.name, p.logPath, lastLines(readFile(p.logPath), 60))
	}
}

// logSinceStart is the log of the running process named name since it was last started.
func (r *chartRun) logSinceStart(name string) string {
	i := slices.IndexFunc(r.procs, func(p *podProcess) bool { return p.name == name })
	ExpectWithOffset(1, i).To(BeNumerically(">=", 0), "no process %s", name)
	text := readFile(r.procs[i].logPath)
	return text[strings.LastIndex(text, "=== "):]
}

// stop ends every process started (SIGTERM, as a rolling update does).
func (r *chartRun) stop() {
	for _, p := range r.procs {
		p.stop()
	}
	r.procs = nil
}

func containerPort(c corev1.Container, name string) int32 {
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
	ExpectWithOffset(2, i).To(BeNumerically(">=", 0), "container %s has no port %s", c.Name, name)
	return c.Ports[i].ContainerPort
}

// probeURL is one of the container's probes as a kubelet calls it, inside the pod's namespace.
func probeURL(c corev1.Container, probe *corev1.Probe) string {
	ExpectWithOffset(1, probe).NotTo(BeNil(), "container %s lacks a probe", c.Name)
	ExpectWithOffset(1, probe.HTTPGet).NotTo(BeNil(), "container %s: not an HTTP probe", c.Name)
	get := probe.HTTPGet
	port := get.Port.IntVal
	if get.Port.StrVal != "" {
		port = containerPort(c, get.Port.StrVal)
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, get.Path)
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

// installCertManagerStubs creates the CRDs of cert-manager's Issuer and Certificate, with no
// schema: the chart's cert-manager mode creates both; nothing acts on them in the lab.
func installCertManagerStubs(ctx context.Context, c client.Client) {
	for _, kind := range []string{"Issuer", "Certificate"} {
		plural := strings.ToLower(kind) + "s"
		crd := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "apiextensions.k8s.io/v1",
			"kind":       "CustomResourceDefinition",
			"metadata":   map[string]any{"name": plural + ".cert-manager.io"},
			"spec": map[string]any{
				"group": "cert-manager.io",
				"scope": "Namespaced",
				"names": map[string]any{"kind": kind, "listKind": kind + "List", "plural": plural, "singular": strings.ToLower(kind)},
				"versions": []any{map[string]any{
					"name": "v1", "served": true, "storage": true,
					"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				}},
			},
		}}
		ExpectWithOffset(1, c.Create(ctx, crd)).To(Succeed())
		EventuallyWithOffset(1, func() bool {
			got := &unstructured.Unstructured{}
			got.SetGroupVersionKind(crd.GroupVersionKind())
			if c.Get(ctx, client.ObjectKey{Name: crd.GetName()}, got) != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					return true
				}
			}
			return false
		}, 30*time.Second, 100*time.Millisecond).Should(BeTrue(), "CRD %s established", crd.GetName())
	}
}

// helmRunner runs the helm CLI against the lab, with its own configuration directories and the
// lab-webhooks post-renderer plugin.
type helmRunner struct {
	bin string
	env []string
}

func newHelmRunner(bin, kubeconfig, webhookBase string, ca []byte) *helmRunner {
	home := GinkgoT().TempDir()
	plugins := filepath.Join(home, "plugins")
	writePostRendererPlugin(plugins)
	return &helmRunner{bin: filepath.Join(bin, "helm"), env: []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + kubeconfig,
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"), "HELM_PLUGINS=" + plugins,
		postRenderURLEnv + "=" + webhookBase, postRenderCAEnv + "=" + base64.StdEncoding.EncodeToString(ca),
	}}
}

func (h *helmRunner) run(args ...string) string {
	cmd := exec.Command(h.bin, args...)
	cmd.Env = h.env
	out, err := cmd.CombinedOutput()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "helm %s:\n%s", strings.Join(args, " "), out)
	GinkgoWriter.Printf("$ helm %s\n%s\n", strings.Join(args, " "), out)
	return string(out)
}

type releaseStatus struct {
	Version int
	Status  string
}

func (h *helmRunner) status() releaseStatus {
	cmd := exec.Command(h.bin, "status", "palisade", "-n", chartNS, "-o", "json")
	cmd.Env = h.env
	out, err := cmd.Output()
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "helm status")
	var rel struct {
		Version int `json:"version"`
		Info    struct {
			Status string `json:"status"`
		} `json:"info"`
	}
	ExpectWithOffset(1, json.Unmarshal(out, &rel)).To(Succeed(), "helm status -o json: %s", out)
	return releaseStatus{Version: rel.Version, Status: rel.Info.Status}
}
