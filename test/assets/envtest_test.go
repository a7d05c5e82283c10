package assets_test

import (
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/palisade-dev/palisade/test/assets"
)

// TestEnvtestControlPlane proves the binaries from `make envtest-bins` form a
// working control plane: etcd and kube-apiserver start, objects round-trip
// through the API, the server reports the pinned version, and kubectl talks
// to it. It fails (never skips) when the binaries are missing.
func TestEnvtestControlPlane(t *testing.T) {
	dir := assets.Require(t)

	env := &envtest.Environment{
		// Never fall through to a real cluster named by USE_EXISTING_CLUSTER.
		UseExistingCluster: ptr.To(false),
		// Two shared cores: the first start can be slow.
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  time.Minute,
	}
	// Explicit paths, because envtest's own lookup prefers $KUBEBUILDER_ASSETS
	// even when assets.Dir rejected it and chose the repository directory.
	env.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(dir, "etcd")}
	env.ControlPlane.KubectlPath = filepath.Join(dir, "kubectl")

	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting envtest control plane from %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping envtest control plane: %v", err)
		}
	})

	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatalf("creating discovery client: %v", err)
	}
	info, err := disc.ServerVersion()
	if err != nil {
		t.Fatalf("reading server version: %v", err)
	}
	if want := "v" + assets.KubeVersion; info.GitVersion != want {
		t.Errorf("server gitVersion = %q, want %q", info.GitVersion, want)
	}

	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("creating client: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "envtest-smoke"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatalf("creating namespace: %v", err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: "smoke"},
		Data:       map[string]string{"policy": "allow-dns"},
	}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatalf("creating configmap: %v", err)
	}

	var gotNS corev1.Namespace
	if err := c.Get(ctx, client.ObjectKey{Name: ns.Name}, &gotNS); err != nil {
		t.Fatalf("reading namespace back: %v", err)
	}
	if gotNS.UID == "" || gotNS.UID != ns.UID {
		t.Errorf("namespace UID read back = %q, want the created %q", gotNS.UID, ns.UID)
	}
	var gotCM corev1.ConfigMap
	if err := c.Get(ctx, client.ObjectKeyFromObject(cm), &gotCM); err != nil {
		t.Fatalf("reading configmap back: %v", err)
	}
	if gotCM.Data["policy"] != "allow-dns" || len(gotCM.Data) != 1 {
		t.Errorf("configmap data read back = %v, want map[policy:allow-dns]", gotCM.Data)
	}

	// kubectl from the same directory must reach the server too, as an authenticated user.
	user, err := env.AddUser(envtest.User{Name: "smoke", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatalf("adding a kubectl user: %v", err)
	}
	kubectl, err := user.Kubectl()
	if err != nil {
		t.Fatalf("kubectl for the user: %v", err)
	}
	stdout, stderr, err := kubectl.Run(
		"get", "configmap", "smoke", "-n", ns.Name, "-o", "jsonpath={.data.policy}")
	if err != nil {
		errText, _ := io.ReadAll(stderr)
		t.Fatalf("kubectl get configmap: %v: %s", err, strings.TrimSpace(string(errText)))
	}
	out, _ := io.ReadAll(stdout)
	if string(out) != "allow-dns" {
		t.Errorf("kubectl get configmap printed %q, want %q", out, "allow-dns")
	}
}
