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
