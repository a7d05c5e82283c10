package chart

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/test/assets"
	"github.com/palisade-dev/palisade/test/output"
)

// docBlock is one ```sh block of docs/install.md: the section it is under and its commands, with
// line continuations joined and comments dropped.
type docBlock struct {
	section  string
	commands []string
}

func installDocBlocks(t *testing.T) []docBlock {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "docs", "install.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []docBlock
	var section, pending string
	var cur *docBlock
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.HasPrefix(line, "## "):
			section = strings.TrimPrefix(line, "## ")
		case cur == nil && line == "```sh":
			cur = &docBlock{section: section}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			if i := strings.Index(line, "#"); i == 0 || (i > 0 && line[i-1] == ' ') {
				line = line[:i]
			}
			line = strings.TrimSpace(line)
			if cont, ok := strings.CutSuffix(line, "\\"); ok {
				pending += cont
				continue
			}
			if cmd := strings.TrimSpace(pending + line); cmd != "" {
				cur.commands = append(cur.commands, cmd)
			}
			pending = ""
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// block returns the commands of the n-th ```sh block of the section.
func block(t *testing.T, blocks []docBlock, section string, n int) []string {
	t.Helper()
	for _, b := range blocks {
		if b.section == section {
			if n == 0 {
				return b.commands
			}
			n--
		}
	}
	t.Fatalf("docs/install.md has no such block in section %q", section)
	return nil
}

// notRunHere are the documented commands this test cannot run: envtest has no kubelet, so no Pod
// ever becomes ready.
var notRunHere = []string{"kubectl -n palisade-system rollout status "}

// docRunner runs documented commands as written, from the repository root, with the helm CLI
// (built from this module's helm.sh/helm/v4, a tool of go.mod) and the envtest kubectl against the API server.
type docRunner struct {
	root, bin, home, kubeconfig string
	apiLog                      *output.Buffer
}

func newDocRunner(t *testing.T, server *apiServer, withHelm bool) *docRunner {
	t.Helper()
	bin := t.TempDir()
	if withHelm {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, "helm"), "helm.sh/helm/v4/cmd/helm")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("building helm: %v\n%s", err, out)
		}
	}
	if err := os.Symlink(filepath.Join(assets.Require(t), "kubectl"), filepath.Join(bin, "kubectl")); err != nil {
		t.Fatal(err)
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	// The reader's own values file of the upgrade section.
	if err := os.WriteFile(filepath.Join(home, "my-values.yaml"), []byte("controller:\n  logLevel: debug\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &docRunner{root: root, bin: bin, home: home, kubeconfig: server.kubeconfig, apiLog: server.log}
}

func (r *docRunner) run(t *testing.T, commands []string) {
	t.Helper()
next:
	for _, cmd := range commands {
		for _, skip := range notRunHere {
			if strings.HasPrefix(cmd, skip) {
				t.Logf("not run (no kubelet in envtest): %s", cmd)
				continue next
			}
		}
		cmd = strings.ReplaceAll(cmd, "-f my-values.yaml", "-f "+filepath.Join(r.home, "my-values.yaml"))
		// Generous: on a loaded CI machine with several envtest API servers, a CRD's deletion (which
		// kubectl waits for) once took more than two minutes.
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", cmd)
		sh.Dir = r.root
		sh.WaitDelay = 5 * time.Second
		sh.Env = append(os.Environ(),
			"PATH="+r.bin+string(os.PathListSeparator)+os.Getenv("PATH"),
			"KUBECONFIG="+r.kubeconfig,
			"HELM_CONFIG_HOME="+filepath.Join(r.home, "config"),
			"HELM_CACHE_HOME="+filepath.Join(r.home, "cache"),
			"HELM_DATA_HOME="+filepath.Join(r.home, "data"))
		out, err := sh.CombinedOutput()
		cancel()
		t.Logf("$ %s\n%s", cmd, out)
		if err != nil {
			r.diagnose(t)
			t.Fatalf("%s: %v", cmd, err)
		}
	}
}

// diagnose logs what the API server holds of Palisade's CRDs and their conditions, so that a command
// that timed out (a deletion that never finished) says what it waited for.
func (r *docRunner) diagnose(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-c", `kubectl get crd -o custom-columns=NAME:.metadata.name,DELETING:.metadata.deletionTimestamp,FINALIZERS:.metadata.finalizers,CONDITIONS:.status.conditions[*].reason,TERMINATING:.status.conditions[?(@.type==\"Terminating\")].message`)
	sh.Dir = r.root
	sh.WaitDelay = 5 * time.Second
	sh.Env = append(os.Environ(), "PATH="+r.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "KUBECONFIG="+r.kubeconfig)
	out, err := sh.CombinedOutput()
	t.Logf("CRDs after the failure (%v):\n%s", err, out)
	t.Logf("the API server's last lines on custom resources and finalizers:\n%s",
		strings.Join(linesWith(r.apiLog, 60, "customresourcedefinition", "finalizer", "nodereports", "crd", "apiextensions"), "\n"))
}

// docChecks are the assertions on the cluster between documented commands.
type docChecks struct {
	t *testing.T
	c client.Client
}

func (d docChecks) exists(obj client.Object, namespace, name string, want bool) {
	d.t.Helper()
	err := d.c.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, obj)
	if got := err == nil; got != want {
		d.t.Fatalf("%T %s exists: %v, want %v (%v)", obj, name, got, want, err)
	}
}

func (d docChecks) crd(want bool) {
	d.t.Helper()
	d.exists(&apiextensionsv1.CustomResourceDefinition{}, "", "networkpolicies.policy.palisade.dev", want)
}

func (d docChecks) controller(want bool) {
	d.t.Helper()
	d.exists(&appsv1.Deployment{}, releaseNS, "palisade-controller", want)
}

func (d docChecks) webhook(want bool) {
	d.t.Helper()
	d.exists(&admissionv1.ValidatingWebhookConfiguration{}, "", "palisade-validating-webhook-configuration", want)
}

// The Helm commands of docs/install.md, run as written against a real API server: install,
// upgrade, uninstall keeping the CRDs, an example's install, deleting the CRDs.
func TestInstallDocHelmCommands(t *testing.T) {
	t.Parallel()
	blocks := installDocBlocks(t)
	server := newAPIServer(t)
	r := newDocRunner(t, server, true)
	check := docChecks{t, server.client}

	r.run(t, block(t, blocks, "With Helm", 0))
	check.crd(true)
	check.controller(true)
	check.webhook(true)
	d := &appsv1.Deployment{}
	if err := server.client.Get(context.Background(), client.ObjectKey{Namespace: releaseNS, Name: "palisade-controller"}, d); err != nil {
		t.Fatal(err)
	}
	if img := d.Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(img, "registry.example.com/palisade/palisade-controller:") {
		t.Errorf("controller image %q: the install's --set was not applied", img)
	}
	r.run(t, block(t, blocks, "Upgrade", 0))
	r.run(t, block(t, blocks, "Uninstall", 0)) // helm uninstall
	check.crd(true)
	check.controller(false)
	check.webhook(false)
	r.run(t, block(t, blocks, "With Helm", 1)) // an example's install
	check.controller(true)
	r.run(t, block(t, blocks, "Uninstall", 0))
	check.serveCRDs()
	r.run(t, block(t, blocks, "Uninstall", 1)) // deleting the CRDs
	check.crd(false)
}

// The kustomize commands of docs/install.md, on an API server of their own (a cluster Palisade was
// never installed in): install, and the uninstall that keeps the CRDs.
func TestInstallDocKustomizeCommands(t *testing.T) {
	t.Parallel()
	blocks := installDocBlocks(t)
	server := newAPIServer(t)
	r := newDocRunner(t, server, false)
	check := docChecks{t, server.client}

	r.run(t, block(t, blocks, "With kustomize", 0))
	check.crd(true)
	check.controller(true)
	check.webhook(true)
	r.run(t, block(t, blocks, "Uninstall", 2)) // kustomize, keeping the CRDs
	check.crd(true)
	check.webhook(false)
	for _, name := range []string{"palisade-manager", "palisade-metrics-reader"} {
		check.exists(&rbacv1.ClusterRole{}, "", name, false)
	}
}

// serveCRDs lists every Palisade resource from the API server's watch cache until it answers, as
// the controller's and enforcers' informers do in a cluster long before anyone deletes a CRD.
// Without it the deletion below would be the first request for a resource: the API server then
// creates its storage on demand and the CRD finalizer's first list can meet a watch cache that is
// still initialising ("storage is (re)initializing", reported upstream), whose retries back off
// exponentially, to minutes. Seen once in CI under -race (`kubectl delete` waited 4 minutes on the
// NodeReport CRD, InstanceDeletionFailed); that is most likely this API-server behaviour, not
// Palisade's, and not what a user who installed Palisade meets.
func (d docChecks) serveCRDs() {
	d.t.Helper()
	for _, kind := range []string{"NetworkPolicyList", "GlobalNetworkPolicyList", "NodeReportList"} {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(schema.GroupVersionKind{Group: "policy.palisade.dev", Version: "v1alpha1", Kind: kind})
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 2*time.Minute, true,
			func(ctx context.Context) (bool, error) {
				// resourceVersion 0: served from the watch cache, refused while it initialises.
				return d.c.List(ctx, list, &client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: "0"}}) == nil, nil
			})
		if err != nil {
			d.t.Fatalf("listing %s from the watch cache: %v", kind, err)
		}
	}
}
