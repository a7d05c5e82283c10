package webhookintegration

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// kubectl runs the real kubectl from the assets directory against the test API server and returns
// "exit: N", its stdout and its stderr as one text, for golden comparison.
func kubectl(stdin []byte, args ...string) string {
	GinkgoHelper()
	home := GinkgoT().TempDir()
	kubeconfig, err := env.kubeconfig(home)
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(filepath.Join(env.assetsDir, "kubectl"), append([]string{"--kubeconfig", kubeconfig, "--cache-dir", filepath.Join(home, "cache")}, args...)...)
	cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH")}
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	code := 0
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		Expect(errors.As(err, &exit)).To(BeTrue(), "running kubectl: %v", err)
		code = exit.ExitCode()
	}
	return fmt.Sprintf("exit: %d\n--- stdout\n%s--- stderr\n%s", code, stdout.String(), stderr.String())
}

var _ = Describe("kubectl apply", Ordered, func() {
	const valid = `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: web
  namespace: cli
spec:
  order: 10
  selector: app == "web"
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [http]
`
	const invalid = `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: broken
  namespace: cli
spec:
  order: 10
  ingress:
  - action: Allow
    protocol: tcp
    source:
      nets: [10.0.0.1]
`
	BeforeAll(func() { createNamespace("cli", nil) })

	It("creates a policy and prints the webhook's warnings", func() {
		golden(filepath.Join("kubectl", "create.golden"), kubectl([]byte(valid), "apply", "-f", "-"))
	})

	It("reports unchanged when the same file is applied again", func() {
		golden(filepath.Join("kubectl", "reapply.golden"), kubectl([]byte(valid), "apply", "-f", "-"))
	})

	It("shows the stored defaults", func() {
		golden(filepath.Join("kubectl", "get-spec.golden"), kubectl(nil, "get", "networkpolicies.policy.palisade.dev", "web", "-n", "cli", "-o", "jsonpath={.spec}"))
	})

	It("refuses an invalid policy with its field paths", func() {
		golden(filepath.Join("kubectl", "invalid.golden"), kubectl([]byte(invalid), "apply", "-f", "-"))
	})
})

var _ = Describe("config/default", func() {
	It("renders with kustomize and is accepted by the API server (server-side dry run)", func() {
		rendered := kubectl(nil, "kustomize", filepath.Join(repoRoot, "config", "default"))
		Expect(rendered).To(HavePrefix("exit: 0\n--- stdout\n"), rendered)
		Expect(rendered).To(HaveSuffix("--- stderr\n"), "kustomize wrote to stderr")
		manifest := strings.TrimSuffix(strings.TrimPrefix(rendered, "exit: 0\n--- stdout\n"), "--- stderr\n")
		createNamespace("palisade-system", nil)
		golden(filepath.Join("kubectl", "config-default-dry-run.golden"),
			kubectl([]byte(manifest), "apply", "--server-side", "--dry-run=server", "--force-conflicts", "--field-manager=test", "-f", "-"))
	})
})

// renderConfigDefault renders config/default with the real kubectl, in a copy of config/ whose
// config/default/kustomization.yaml edit changes first (nil: as it is), and returns its objects by
// kind/name.
func renderConfigDefault(edit func(kustomization string) string) map[string]*unstructured.Unstructured {
	GinkgoHelper()
	dir := filepath.Join(GinkgoT().TempDir(), "config")
	Expect(os.CopyFS(dir, os.DirFS(filepath.Join(repoRoot, "config")))).To(Succeed())
	kpath := filepath.Join(dir, "default", "kustomization.yaml")
	k, err := os.ReadFile(kpath)
	Expect(err).NotTo(HaveOccurred())
	if edit != nil {
		edited := edit(string(k))
		Expect(edited).NotTo(Equal(string(k)), "config/default no longer has what the edit changes")
		Expect(os.WriteFile(kpath, []byte(edited), 0o644)).To(Succeed())
	}
	rendered := kubectl(nil, "kustomize", filepath.Join(dir, "default"))
	Expect(rendered).To(HavePrefix("exit: 0\n--- stdout\n"), rendered)
	Expect(rendered).To(HaveSuffix("--- stderr\n"), "kustomize wrote to stderr")
	manifest := strings.TrimSuffix(strings.TrimPrefix(rendered, "exit: 0\n--- stdout\n"), "--- stderr\n")
	objs := map[string]*unstructured.Unstructured{}
	for _, doc := range strings.Split(manifest, "\n---\n") {
		u := &unstructured.Unstructured{}
		Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
		objs[u.GetKind()+"/"+u.GetName()] = u
	}
	return objs
}

// managerArgs returns the arguments of the manager container of a rendered config.
func managerArgs(objs map[string]*unstructured.Unstructured) []string {
	GinkgoHelper()
	deploy := objs["Deployment/palisade-controller"]
	Expect(deploy).NotTo(BeNil())
	containers, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "containers")
	Expect(containers).To(HaveLen(1))
	args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	return args
}

var _ = Describe("config/components/apiserver-defaulting", func() {
	It("registers the admission policy instead of the mutating webhook, and tells the manager", func() {
		objs := renderConfigDefault(nil)
		Expect(objs).To(HaveKey("MutatingAdmissionPolicy/palisade-policy-defaults"))
		Expect(objs).To(HaveKey("MutatingAdmissionPolicyBinding/palisade-policy-defaults"))
		Expect(objs["MutatingAdmissionPolicy/palisade-policy-defaults"].GetNamespace()).To(BeEmpty(), "cluster-scoped")
		Expect(objs).To(HaveKey("ValidatingWebhookConfiguration/palisade-validating-webhook-configuration"))
		Expect(objs).NotTo(HaveKey("MutatingWebhookConfiguration/palisade-mutating-webhook-configuration"))
		Expect(managerArgs(objs)).To(ContainElement("--mutating-webhook-configuration="))
	})

	It("left out, as on clusters before 1.36, registers the mutating webhook and no admission policy", func() {
		objs := renderConfigDefault(func(k string) string {
			return strings.Replace(k, "- ../components/apiserver-defaulting\n", "", 1)
		})
		Expect(objs).NotTo(HaveKey("MutatingAdmissionPolicy/palisade-policy-defaults"))
		Expect(objs).To(HaveKey("MutatingWebhookConfiguration/palisade-mutating-webhook-configuration"))
		Expect(objs).To(HaveKey("ValidatingWebhookConfiguration/palisade-validating-webhook-configuration"))
		Expect(managerArgs(objs)).NotTo(ContainElement(HavePrefix("--mutating-webhook-configuration")))
	})
})

var _ = Describe("config/certmanager", func() {
	It("switches the manager to cert-manager's certificate and injects its CA into the webhook configurations", func() {
		// Enable the component the way config/default documents it.
		objs := renderConfigDefault(func(k string) string {
			return strings.Replace(k, "# - ../certmanager\n", "- ../certmanager\n", 1)
		})
		Expect(objs).NotTo(HaveKey("Secret/palisade-webhook-server-cert"), "cert-manager owns the certificate Secret")
		cert := objs["Certificate/palisade-webhook-serving-cert"]
		Expect(cert).NotTo(BeNil())
		Expect(cert.GetNamespace()).To(Equal("palisade-system"))
		secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		Expect(secretName).To(Equal("palisade-webhook-server-cert"))
		dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
		Expect(dnsNames).To(ContainElement("palisade-webhook-service.palisade-system.svc"))
		Expect(objs).To(HaveKey("Service/palisade-webhook-service"))

		validating := objs["ValidatingWebhookConfiguration/palisade-validating-webhook-configuration"]
		Expect(validating).NotTo(BeNil())
		Expect(validating.GetAnnotations()).To(HaveKeyWithValue("cert-manager.io/inject-ca-from", "palisade-system/palisade-webhook-serving-cert"))

		Expect(managerArgs(objs)).To(ContainElement("--cert-source=cert-manager"))
		deploy := objs["Deployment/palisade-controller"]
		volumes, _, _ := unstructured.NestedSlice(deploy.Object, "spec", "template", "spec", "volumes")
		Expect(volumes).To(ContainElement(HaveKeyWithValue("secret", HaveKeyWithValue("secretName", secretName))))
	})
})
