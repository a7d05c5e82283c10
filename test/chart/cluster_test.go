package chart

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/kube"
	releasev1 "helm.sh/helm/v4/pkg/release/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/palisade-dev/palisade/test/assets"
	"github.com/palisade-dev/palisade/test/output"
)

// apiServer is an envtest API server of one test: the install test and the dry-run test each get
// their own, because the chart's object names are fixed (one install per cluster) and a dry-run
// create of an object the install test made would fail with AlreadyExists.
type apiServer struct {
	env        *envtest.Environment
	client     client.Client
	kubeconfig string
	// log is the API server's own output (klog on stderr), kept so that a test that waited in vain
	// (a CRD deletion that never finished) can show what the server said about it.
	log *output.Buffer
}

// newAPIServer starts an envtest API server for t, with the stand-in CRDs of testdata installed and
// Palisade's CRDs not (helm install installs those from the chart's crds/), stopped when t ends.
func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	dir := assets.Require(t)
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apiextensionsv1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{
		Scheme:                   scheme,
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        []string{filepath.Join("testdata", "stub-crds.yaml")},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
	}
	log := &output.Buffer{}
	env.ControlPlane.GetAPIServer().Err = log
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("starting the API server: %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stopping the API server: %v", err)
		}
	})
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return &apiServer{env: env, client: c, kubeconfig: kubeconfig, log: log}
}

// helmConfig is Helm's action configuration for the API server, storing releases in Secrets of
// the release namespace as the helm CLI does.
func (s *apiServer) helmConfig(t *testing.T) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig = &s.kubeconfig
	ns := releaseNS
	flags.Namespace = &ns
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, releaseNS, "secret"); err != nil {
		t.Fatalf("helm configuration: %v", err)
	}
	return cfg
}

// A real install then upgrade with Helm's action package: the CRDs come from crds/, every object of
// the release exists afterwards, and an upgrade leaves alone what the controller writes in the
// cluster (the webhook caBundle and the certificate Secret's data).
func TestHelmInstallAndUpgrade(t *testing.T) {
	t.Parallel()
	server := newAPIServer(t)
	c := server.client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ch, err := loader.Load(chartDir)
	if err != nil {
		t.Fatal(err)
	}

	install := action.NewInstall(server.helmConfig(t))
	install.ReleaseName = "palisade"
	install.Namespace = releaseNS
	install.CreateNamespace = true
	install.ServerSideApply = true
	// No kubelet runs in envtest: wait for nothing but hooks (the chart has none).
	install.WaitStrategy = kube.HookOnlyStrategy
	install.Timeout = 2 * time.Minute
	rel, err := install.RunWithContext(ctx, ch, nil)
	if err != nil {
		t.Fatalf("helm install: %v", err)
	}
	installed := asRelease(t, rel)
	if installed.Info.Status != "deployed" || installed.Version != 1 {
		t.Fatalf("release %s version %d", installed.Info.Status, installed.Version)
	}
	for _, name := range []string{"networkpolicies.policy.palisade.dev", "globalnetworkpolicies.policy.palisade.dev"} {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &apiextensionsv1.CustomResourceDefinition{}); err != nil {
			t.Errorf("CRD %s after install: %v", name, err)
		}
	}
	objs := releaseObjects(t, installed)
	assertExist(ctx, t, c, objs)
	// The API server is 1.37: defaults are filled by the API server, only validation is a webhook.
	if !hasObject(objs, "MutatingAdmissionPolicy", "palisade-policy-defaults") || hasObject(objs, "MutatingWebhookConfiguration", "palisade-mutating-webhook-configuration") {
		t.Errorf("install on 1.37 did not choose the MutatingAdmissionPolicy: %v", objectNames(objs))
	}

	// What the controller does once it runs: fill the certificate Secret and inject the CA.
	secret := &corev1.Secret{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "palisade-webhook-server-cert"}, secret); err != nil {
		t.Fatal(err)
	}
	secret.Data = map[string][]byte{"tls.crt": []byte("cert"), "tls.key": []byte("key"), "ca.crt": []byte("ca")}
	if err := c.Update(ctx, secret, client.FieldOwner("palisade-controller")); err != nil {
		t.Fatal(err)
	}
	vwc := &unstructured.Unstructured{}
	vwc.SetAPIVersion("admissionregistration.k8s.io/v1")
	vwc.SetKind("ValidatingWebhookConfiguration")
	if err := c.Get(ctx, client.ObjectKey{Name: "palisade-validating-webhook-configuration"}, vwc); err != nil {
		t.Fatal(err)
	}
	webhooks, _, _ := unstructured.NestedSlice(vwc.Object, "webhooks")
	for _, w := range webhooks {
		_ = unstructured.SetNestedField(w.(map[string]any), "Q0E=", "clientConfig", "caBundle")
	}
	_ = unstructured.SetNestedSlice(vwc.Object, webhooks, "webhooks")
	if err := c.Update(ctx, vwc, client.FieldOwner("palisade-controller")); err != nil {
		t.Fatal(err)
	}

	upgrade := action.NewUpgrade(server.helmConfig(t))
	upgrade.Namespace = releaseNS
	upgrade.ServerSideApply = "auto"
	upgrade.WaitStrategy = kube.HookOnlyStrategy
	upgrade.Timeout = 2 * time.Minute
	vals := map[string]any{
		"controller": map[string]any{"replicas": 3, "logLevel": "debug"},
		"metrics":    map[string]any{"serviceMonitor": map[string]any{"enabled": true}},
	}
	rel, err = upgrade.RunWithContext(ctx, "palisade", ch, vals)
	if err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	upgraded := asRelease(t, rel)
	if upgraded.Info.Status != "deployed" || upgraded.Version != 2 {
		t.Fatalf("release %s version %d after upgrade", upgraded.Info.Status, upgraded.Version)
	}
	objs = releaseObjects(t, upgraded)
	assertExist(ctx, t, c, objs)
	if !hasObject(objs, "ServiceMonitor", "palisade") {
		t.Error("upgrade did not add the ServiceMonitor")
	}
	deploy := &unstructured.Unstructured{}
	deploy.SetAPIVersion("apps/v1")
	deploy.SetKind("Deployment")
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "palisade-controller"}, deploy); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := unstructured.NestedInt64(deploy.Object, "spec", "replicas"); n != 3 {
		t.Errorf("controller replicas %d after upgrade, want 3", n)
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: releaseNS, Name: "palisade-webhook-server-cert"}, secret); err != nil {
		t.Fatal(err)
	}
	if string(secret.Data["tls.crt"]) != "cert" {
		t.Errorf("upgrade changed the controller's certificate Secret: %v", secret.Data)
	}
	if err := c.Get(ctx, client.ObjectKey{Name: "palisade-validating-webhook-configuration"}, vwc); err != nil {
		t.Fatal(err)
	}
	webhooks, _, _ = unstructured.NestedSlice(vwc.Object, "webhooks")
	for _, w := range webhooks {
		if ca, _, _ := unstructured.NestedString(w.(map[string]any), "clientConfig", "caBundle"); ca != "Q0E=" {
			t.Errorf("upgrade changed the injected caBundle of %v to %q", w.(map[string]any)["name"], ca)
		}
	}
}

// Every object the chart renders, with the defaults and every documented example, for clusters with
// and without MutatingAdmissionPolicy, passes a server-side dry run with strict field validation:
// the API server's schema, defaulting and admission accept it as it is.
func TestServerSideDryRun(t *testing.T) {
	t.Parallel()
	server := newAPIServer(t)
	c := server.client
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	// The Palisade CRDs, as `kubectl apply --server-side -f charts/palisade/crds` installs them.
	if _, err := envtest.InstallCRDs(server.env.Config, envtest.CRDInstallOptions{
		Paths: []string{filepath.Join(chartDir, "crds")}, ErrorIfPathMissing: true,
	}); err != nil {
		t.Fatalf("installing the chart's CRDs: %v", err)
	}
	ns := &corev1.Namespace{}
	ns.Name = releaseNS
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	cases := map[string]map[string]any{"defaults": nil}
	for name, vals := range examples(t) {
		cases[name] = vals
	}
	cases["cert-manager self-signed"] = map[string]any{"certificates": map[string]any{"mode": "cert-manager"}}
	for name, vals := range cases {
		for _, kubeVersion := range []string{newKube, legacyKube} {
			t.Run(name+"/"+kubeVersion, func(t *testing.T) {
				r, err := render(vals, kubeVersion)
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range r.objects {
					obj := o.DeepCopy()
					if err := c.Create(ctx, obj, client.DryRunAll, client.FieldValidation("Strict")); err != nil {
						t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
					}
				}
			})
		}
	}
}

func asRelease(t *testing.T, r any) *releasev1.Release {
	t.Helper()
	rel, ok := r.(*releasev1.Release)
	if !ok {
		t.Fatalf("release is a %T", r)
	}
	return rel
}

func releaseObjects(t *testing.T, rel *releasev1.Release) []*unstructured.Unstructured {
	t.Helper()
	objs, err := parseObjects(rel.Manifest)
	if err != nil {
		t.Fatalf("release manifest: %v", err)
	}
	if len(objs) < 15 {
		t.Fatalf("release holds only %d objects: %v", len(objs), objectNames(objs))
	}
	return objs
}

func assertExist(ctx context.Context, t *testing.T, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(o.GroupVersionKind())
		ns := o.GetNamespace()
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.GetName()}, got); err != nil {
			t.Errorf("%s %s/%s of the release: %v", o.GetKind(), ns, o.GetName(), err)
			continue
		}
		if got.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
			t.Errorf("%s %s is not managed by Helm: %v", o.GetKind(), o.GetName(), got.GetLabels())
		}
	}
}

func hasObject(objs []*unstructured.Unstructured, kind, name string) bool {
	return findIn(objs, kind, name) != nil
}

func objectNames(objs []*unstructured.Unstructured) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}
