package lab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/test/assets"
)

// relayAddr is where processes in a node namespace find the API server.
const relayAddr = "127.0.0.1:6443"

// Scheme knows the built-in kinds and Palisade's.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, fmt.Errorf("building the scheme: %w", err)
	}
	return s, nil
}

// startControlPlane starts etcd and kube-apiserver with their state in the lab's directory (so
// that Cleanup finds them by their command line) and installs the CRDs.
func (l *Lab) startControlPlane(ctx context.Context, opts Options) error {
	dir := opts.AssetsDir
	if dir == "" {
		var err error
		if dir, err = assets.Dir(); err != nil {
			return err
		}
	}
	crds := opts.CRDDir
	if crds == "" {
		root, err := repoRoot()
		if err != nil {
			return fmt.Errorf("finding the CRDs (run from the repository, or give their directory: Options.CRDDir, palisade-lab --crd-dir): %w", err)
		}
		crds = filepath.Join(root, "config", "crd", "bases")
	}
	scheme, err := Scheme()
	if err != nil {
		return err
	}
	etcdDir := filepath.Join(l.Dir, "etcd")
	certDir := filepath.Join(l.Dir, "apiserver")
	for _, d := range []string{etcdDir, certDir} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", d, err)
		}
	}
	env := &envtest.Environment{
		Scheme:                   scheme,
		BinaryAssetsDirectory:    dir,
		CRDDirectoryPaths:        []string{crds},
		ErrorIfCRDPathMissing:    true,
		ControlPlaneStartTimeout: 2 * time.Minute,
		ControlPlaneStopTimeout:  30 * time.Second,
		ControlPlane: envtest.ControlPlane{
			Etcd:      &envtest.Etcd{DataDir: etcdDir},
			APIServer: &envtest.APIServer{CertDir: certDir},
		},
	}
	if len(opts.APIServerHosts) > 0 {
		path, err := l.apiServerWithHosts(dir, opts.APIServerHosts)
		if err != nil {
			return err
		}
		env.ControlPlane.APIServer.Path = path
		l.APIServerHosts = slices.Clone(opts.APIServerHosts)
	}
	if len(opts.Webhooks) > 0 {
		env.WebhookInstallOptions = envtest.WebhookInstallOptions{Paths: opts.Webhooks, LocalServingHost: "127.0.0.1"}
	}
	start := time.Now()
	cfg, err := env.Start()
	if err != nil {
		return errors.Join(fmt.Errorf("starting the API server: %w", err), env.Stop())
	}
	l.env = env
	l.onClose("control plane", env.Stop)
	log.FromContext(ctx).Info("control plane started", "host", cfg.Host, "took", time.Since(start).Round(time.Millisecond))
	cfg.QPS, cfg.Burst = -1, 0 // the lab creates objects in bursts; nothing else shares this server
	l.Config = cfg
	if l.Client, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		return fmt.Errorf("creating the API client: %w", err)
	}
	l.Kubeconfig = filepath.Join(l.Dir, "kubeconfig")
	if err := os.WriteFile(l.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		return fmt.Errorf("writing the kubeconfig: %w", err)
	}
	if len(opts.Webhooks) > 0 {
		return l.keepWebhookCerts(&env.WebhookInstallOptions)
	}
	return nil
}

// apiServerWithHosts writes a hosts file (the machine's /etc/hosts and names on 127.0.0.1) and a
// wrapper that starts kube-apiserver of assets in a mount namespace of its own where that file is
// bind-mounted over /etc/hosts; it returns the wrapper's path. Each step execs the next, so the
// process envtest starts and stops is kube-apiserver itself, whose command line names the lab's
// directory (Cleanup finds it); the mount namespace ends with it.
func (l *Lab) apiServerWithHosts(assets string, names []string) (string, error) {
	for _, n := range names {
		if n == "" || strings.ContainsAny(n, " \t\n#") {
			return "", fmt.Errorf("API server host %q: want a DNS name", n)
		}
	}
	machine, err := os.ReadFile("/etc/hosts")
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("reading /etc/hosts: %w", err)
	}
	hosts := filepath.Join(l.Dir, "apiserver-hosts")
	text := strings.TrimRight(string(machine), "\n") + "\n# the lab's (" + l.Prefix + ")\n127.0.0.1 " + strings.Join(names, " ") + "\n"
	if err := os.WriteFile(hosts, []byte(text), 0o644); err != nil {
		return "", fmt.Errorf("writing the API server's hosts file: %w", err)
	}
	apiserver := filepath.Join(assets, "kube-apiserver")
	wrapper := filepath.Join(l.Dir, "kube-apiserver")
	script := fmt.Sprintf(`#!/bin/sh
# kube-apiserver with %s as its /etc/hosts, in a private mount namespace.
exec unshare --mount --propagation private /bin/sh -c 'mount --bind "$0" /etc/hosts && exec "$@"' %q %q "$@"
`, hosts, hosts, apiserver)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		return "", fmt.Errorf("writing the API server's wrapper: %w", err)
	}
	return wrapper, nil
}

// keepWebhookCerts copies envtest's webhook serving certificate (in a temporary directory of its
// own, removed by env.Stop) into the lab's directory, so that a serving process names the lab's
// directory on its command line and Cleanup finds it after a crash.
func (l *Lab) keepWebhookCerts(wio *envtest.WebhookInstallOptions) error {
	dir := filepath.Join(l.Dir, "webhook-certs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	for _, f := range []string{"tls.crt", "tls.key"} {
		b, err := os.ReadFile(filepath.Join(wio.LocalServingCertDir, f))
		if err != nil {
			return fmt.Errorf("reading the webhook serving certificate: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o600); err != nil {
			return fmt.Errorf("writing the webhook serving certificate: %w", err)
		}
	}
	l.Webhook = &WebhookServing{Host: wio.LocalServingHost, Port: wio.LocalServingPort, CertDir: dir, CAData: wio.LocalServingCAData}
	return nil
}

// nodeKubeconfig is the admin kubeconfig with every cluster's server replaced by the relay's
// address inside node namespaces.
func nodeKubeconfig(admin []byte) ([]byte, error) {
	cfg, err := clientcmd.Load(admin)
	if err != nil {
		return nil, fmt.Errorf("reading the admin kubeconfig: %w", err)
	}
	for _, c := range cfg.Clusters {
		c.Server = "https://" + relayAddr
	}
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("writing a node kubeconfig: %w", err)
	}
	return out, nil
}

// repoModule identifies the repository root's go.mod.
const repoModule = "github.com/palisade-dev/palisade"

// repoRoot walks up from the working directory to the directory whose go.mod declares the
// Palisade module (hack/kube and test/oracle have go.mod files of their own).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("reading the working directory: %w", err)
	}
	for {
		if isRepoRoot(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s in the working directory or its parents", repoModule)
		}
		dir = parent
	}
}

func isRepoRoot(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`) == repoModule
		}
	}
	return false
}

// RepoRoot is the root of the Palisade repository holding the working directory (where
// config/ and examples/ are).
func RepoRoot() (string, error) { return repoRoot() }
