package consistency

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/test/assets"
)

// clusterCommands are the documented commands that need an API server; TestDocClusterCommands runs
// each as written, in this order, with kubectl against envtest, and checks what it did.
var clusterCommands = []struct{ file, command string }{
	{"docs/gitops.md", `kubectl -n argocd patch cm argocd-cm --patch-file config/argocd/argocd-cm.yaml`},
	{"docs/gitops.md", `kubectl annotate pnp web -n shop rollout.palisade.dev/promote="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" --overwrite`},
	{"docs/rollout.md", `kubectl annotate pnp web -n shop rollout.palisade.dev/promote="$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)" --overwrite`},
	{"docs/gitops.md", `kubectl wait --for=condition=Ready pnp/web -n shop --timeout=5m`},
	{"docs/operations.md", `kubectl get namespaces,serviceaccounts,pods,services,endpointslices,networkpolicies.networking.k8s.io,networkpolicies.policy.palisade.dev,globalnetworkpolicies.policy.palisade.dev -A -o yaml > cluster.yaml`},
	{"docs/operations.md", `kubectl palisade trace -f cluster.yaml --from frontend/web --to database/postgres-0 --port 5432/TCP`},
}

// dumpedExample is the example the cluster dump of docs/operations.md is made of; tracing the dump
// must give what tracing the example's manifests gives.
const dumpedExample = "examples/three-tier"

// clusterCommand returns the documented command of clusterCommands at index i, after checking that
// the document still holds it (TestDocCommandsAreRun checks that too, for the whole list).
func clusterCommand(t *testing.T, i int) string {
	t.Helper()
	c := clusterCommands[i]
	for _, d := range fileCommands(t, c.file) {
		if d.text == c.command {
			return d.text
		}
	}
	t.Fatalf("%s no longer holds %q", c.file, c.command)
	return ""
}

// policyWeb is the policy the documented commands name (pnp web in namespace shop).
const policyWeb = `apiVersion: policy.palisade.dev/v1alpha1
kind: NetworkPolicy
metadata:
  name: web
  namespace: shop
spec:
  order: 100
  selector: app == 'web'
  ingress:
  - action: Allow
    protocol: TCP
    destination:
      ports: [8080]
`

// readyStatus is what the operator writes once the policy's phase is programmed on every node.
const readyStatus = `{"status":{"observedGeneration":1,"phase":"Audit","conditions":[
 {"type":"Ready","status":"True","reason":"Programmed","message":"programmed on 2 nodes","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z"},
 {"type":"Progressing","status":"True","reason":"WaitingForMinDuration","message":"in Audit","observedGeneration":1,"lastTransitionTime":"2026-01-01T00:00:00Z"}]}}`

type kubectlRunner struct {
	path, home string
	kubeconfig string
}

func (k kubectlRunner) run(ctx context.Context, command string) *exec.Cmd {
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", command)
	sh.Dir = root
	sh.WaitDelay = 5 * time.Second
	sh.Env = []string{"PATH=" + k.path, "HOME=" + k.home, "KUBECONFIG=" + k.kubeconfig, "LANG=C"}
	return sh
}

// must runs a command to completion and returns its output, failing the test when it fails.
func (k kubectlRunner) must(t *testing.T, command string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sh := k.run(ctx, command)
	out, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("$ %s: %v\n%s", command, err, out)
	}
	t.Logf("$ %s\n%s", command, out)
	return string(out)
}

// TestDocClusterCommands runs the documented commands that need an API server (clusterCommands) as
// written, with the envtest kubectl against an envtest API server holding Palisade's CRDs, and checks
// their effect: the Argo CD settings merged into argocd-cm, the promote annotation written with a
// request token and the spec's generation unchanged, and kubectl wait returning only once the
// operator's Ready condition is True.
func TestDocClusterCommands(t *testing.T) {
	dir := assets.Require(t)
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	if _, err := env.Start(); err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	user, err := env.AddUser(envtest.User{Name: "docs", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	kubeconfig := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(kubeconfig, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	k := kubectlRunner{path: dir + string(os.PathListSeparator) + os.Getenv("PATH"), home: home, kubeconfig: kubeconfig}

	// What the commands act on: Argo CD's ConfigMap and the policy web.
	k.must(t, "kubectl create namespace argocd && kubectl -n argocd create configmap argocd-cm --from-literal=url=https://argocd.example.com")
	k.must(t, "kubectl create namespace shop")
	policy := filepath.Join(home, "web.yaml")
	if err := os.WriteFile(policy, []byte(policyWeb), 0o600); err != nil {
		t.Fatal(err)
	}
	k.must(t, "kubectl apply -f "+policy)

	t.Run("argocd-cm", func(t *testing.T) {
		k.must(t, clusterCommand(t, 0))
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if err := json.Unmarshal([]byte(k.must(t, "kubectl -n argocd get cm argocd-cm -o json")), &cm); err != nil {
			t.Fatal(err)
		}
		lua, err := os.ReadFile(filepath.Join(root, "config", "argocd", "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"NetworkPolicy", "GlobalNetworkPolicy"} {
			if got := cm.Data["resource.customizations.health.policy.palisade.dev_"+kind]; got != string(lua) {
				t.Errorf("argocd-cm's health check for %s is not health.lua (%d bytes, want %d)", kind, len(got), len(lua))
			}
		}
		for _, kind := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
			if got := cm.Data["resource.customizations.ignoreDifferences.admissionregistration.k8s.io_"+kind]; !strings.Contains(got, ".webhooks[]?.clientConfig.caBundle") {
				t.Errorf("argocd-cm does not ignore the caBundle of %s: %q", kind, got)
			}
		}
		if cm.Data["url"] != "https://argocd.example.com" {
			t.Errorf("the patch replaced argocd-cm's own settings instead of merging: %v", cm.Data)
		}
	})

	t.Run("promote", func(t *testing.T) {
		token := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)
		var previous string
		for _, i := range []int{1, 2} {
			k.must(t, clusterCommand(t, i))
			var p struct {
				Metadata struct {
					Generation  int64             `json:"generation"`
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal([]byte(k.must(t, "kubectl get pnp web -n shop -o json")), &p); err != nil {
				t.Fatal(err)
			}
			got := p.Metadata.Annotations["rollout.palisade.dev/promote"]
			if !token.MatchString(got) {
				t.Errorf("%s: the promote token %q is not the fixed-width UTC time rollout.RequestToken writes", clusterCommands[i].file, got)
			}
			if got == previous {
				t.Errorf("%s: running it again wrote the same token %q: the second request would be ignored", clusterCommands[i].file, got)
			}
			previous = got
			if p.Metadata.Generation != 1 {
				t.Errorf("annotating changed the generation to %d: it must not touch the spec", p.Metadata.Generation)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("trace a cluster dump", func(t *testing.T) {
		// The example's namespaces, pods and policies, with the pods' IPs written as a kubelet would.
		for _, f := range []string{"cluster.yaml", "policy.yaml"} {
			k.must(t, "kubectl apply --server-side -f "+filepath.Join(dumpedExample, f))
		}
		raw, err := os.ReadFile(filepath.Join(root, dumpedExample, "cluster.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(raw), "\n---\n") {
			var obj struct {
				Kind     string `json:"kind"`
				Metadata struct {
					Name, Namespace string
				} `json:"metadata"`
				Status map[string]any `json:"status"`
			}
			if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
				t.Fatal(err)
			}
			if obj.Kind != "Pod" {
				continue
			}
			status, err := json.Marshal(map[string]any{"status": obj.Status})
			if err != nil {
				t.Fatal(err)
			}
			k.must(t, "kubectl patch pod "+obj.Metadata.Name+" -n "+obj.Metadata.Namespace+" --subresource=status --type=merge -p '"+string(status)+"'")
		}
		// The documented commands, as written, in a directory of their own (the dump is written to
		// the working directory), with kubectl-palisade beside kubectl.
		dump := kubectlRunner{path: toolDir(t) + string(os.PathListSeparator) + k.path, home: k.home, kubeconfig: k.kubeconfig}
		work := t.TempDir()
		var traced string
		for _, i := range []int{4, 5} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			sh := dump.run(ctx, clusterCommand(t, i))
			sh.Dir = work
			out, err := sh.CombinedOutput()
			cancel()
			t.Logf("$ %s\n%s", clusterCommands[i].command, out)
			var exit *exec.ExitError
			if i == 5 && errors.As(err, &exit) && exit.ExitCode() == 1 {
				err = nil // denied: the answer this flow must get
			}
			if err != nil {
				t.Fatalf("%s: %v\n%s", clusterCommands[i].command, err, out)
			}
			traced = string(out)
		}
		// The same trace over the example's manifests: the dump must hold everything trace reads.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		direct := dump.run(ctx, strings.Replace(clusterCommand(t, 5), "-f cluster.yaml", "-f "+dumpedExample, 1))
		want, _ := direct.CombinedOutput()
		if traced != string(want) {
			t.Errorf("tracing the cluster dump differs from tracing %s:\n--- dump\n%s\n--- manifests\n%s", dumpedExample, traced, want)
		}
		if !strings.Contains(traced, "Final verdict: DENIED") {
			t.Errorf("the documented trace of a denied flow does not say DENIED:\n%s", traced)
		}
	})

	t.Run("wait", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		wait := k.run(ctx, clusterCommand(t, 3))
		var out bytes.Buffer
		wait.Stdout, wait.Stderr = &out, &out
		if err := wait.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- wait.Wait() }()
		select {
		case err := <-done:
			t.Fatalf("kubectl wait returned before the policy was Ready (%v):\n%s", err, out.String())
		case <-time.After(2 * time.Second):
		}
		patch := filepath.Join(home, "status.json")
		js, err := yaml.YAMLToJSON([]byte(readyStatus))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(patch, js, 0o600); err != nil {
			t.Fatal(err)
		}
		k.must(t, "kubectl patch pnp web -n shop --subresource=status --type=merge --patch-file "+patch)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("kubectl wait failed once the policy was Ready: %v\n%s", err, out.String())
			}
		case <-ctx.Done():
			t.Fatalf("kubectl wait did not return once the policy was Ready:\n%s", out.String())
		}
	})
}
