package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab/echo"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
	"github.com/palisade-dev/palisade/test/lab/topology"
)

// Options configure Start. The zero value is a 2-node lab with no node processes.
type Options struct {
	// Nodes is the least number of nodes (default 2); nodes that the manifest's pods name are
	// added to it.
	Nodes int
	// Prefix names everything of the run; default netns.Root and 8 random hex digits. It must
	// start with netns.Root.
	Prefix string
	// AssetsDir holds etcd, kube-apiserver and kubectl; default test/assets.Dir().
	AssetsDir string
	// CRDDir holds the CRDs to install; default config/crd/bases of the repository holding the
	// working directory.
	CRDDir string
	// ExtraPorts are served by every pod's echo server, TCP and UDP, besides the container ports
	// it declares: a prober asked for a port a pod does not declare must measure the policy, not
	// a missing listener.
	ExtraPorts []uint16
	// NodeProcess, when its Command is set, runs one process per node inside the node's
	// namespace; Start returns once every one reports ready.
	NodeProcess NodeProcess
	// Webhooks are files of webhook configurations (like config/webhook/manifests.yaml) that
	// Start registers before it creates the manifest's objects, as the envtest suites do: each
	// service reference becomes https://127.0.0.1:PORT/PATH, trusted through a self-signed CA
	// whose serving certificate is in Lab.Webhook.CertDir. Whoever serves them must be up before
	// an object they intercept is written (failurePolicy: Fail refuses it otherwise).
	Webhooks []string
	// APIServerHosts are names kube-apiserver resolves to 127.0.0.1, from the /etc/hosts of a
	// mount namespace of its own (the machine's /etc/hosts is not touched): where it calls a webhook
	// by a Service's DNS name, as on a cluster, forwarded on loopback (package chartrun).
	APIServerHosts []string
}

// WebhookServing is where the lab's registered webhooks are called (Options.Webhooks).
type WebhookServing struct {
	// Host and Port are the address the API server calls, on loopback.
	Host string
	Port int
	// CertDir holds tls.crt and tls.key, a serving certificate for Host, inside the lab's
	// directory; CAData is the CA the API server trusts it with.
	CertDir string
	CAData  []byte
}

// Lab is a running lab. Its methods are safe for concurrent use; Close ends it.
type Lab struct {
	// Prefix names the run's namespaces; Dir is its working directory.
	Prefix string
	Dir    string
	// Plan is the layout: nodes, pods, addresses.
	Plan *topology.Plan
	// Config and Client reach the API server as its admin; Kubeconfig is a file holding the
	// same, for tools run in the root namespace.
	Config     *rest.Config
	Client     client.Client
	Kubeconfig string
	// Webhook is set when Options.Webhooks registered webhook configurations.
	Webhook *WebhookServing
	// APIServerHosts are the names the API server resolves to 127.0.0.1 (Options.APIServerHosts).
	APIServerHosts []string

	env     *envtest.Environment
	fabric  *netns.NS
	nodes   []*labNode
	pods    []*labPod
	objects *objectSet

	mu      sync.Mutex
	closers []closer // in the order they were added; Close runs them backwards
	closed  bool
}

type closer struct {
	what string
	fn   func() error
}

type labNode struct {
	topology.Node
	ns         *netns.NS
	relay      *relay
	kubeconfig string
	dir        string
	// proc is the running process (guarded by Lab.mu), started from argv and spec.
	proc *nodeProcess
	argv []string
	spec NodeProcess
}

type labPod struct {
	topology.Pod
	ns    *netns.NS
	ports []uint16
	echo  *echo.Server
}

// Start builds a lab from set. ctx bounds the building only. On failure everything built is
// removed again.
func Start(ctx context.Context, set *manifest.Set, opts Options) (l *Lab, err error) {
	if opts.Nodes == 0 {
		opts.Nodes = 2
	}
	if opts.Prefix == "" {
		b := make([]byte, 4)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("choosing a prefix: %w", err)
		}
		opts.Prefix = netns.Root + hex.EncodeToString(b)
	}
	if _, err := netns.List(opts.Prefix); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("the lab creates network namespaces and must run as root")
	}
	objs, err := newObjectSet(set)
	if err != nil {
		return nil, err
	}
	plan, err := topology.Build(opts.Nodes, objs.podRequests())
	if err != nil {
		return nil, fmt.Errorf("planning the lab: %w", err)
	}
	// built is torn down if Start fails or panics; "return nil, err" clears l before deferred
	// functions run, so they must not use l.
	built := &Lab{Prefix: opts.Prefix, Dir: WorkDir(opts.Prefix), Plan: plan, objects: objs}
	l = built
	if err := os.Mkdir(l.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the lab's directory: %w", err)
	}
	l.onClose("working directory "+l.Dir, func() error { return os.RemoveAll(built.Dir) })
	defer func() {
		if r := recover(); r != nil {
			_ = built.Close()
			panic(r)
		}
		if err != nil {
			err = errors.Join(err, built.Close())
		}
	}()
	logger := log.FromContext(ctx).WithValues("lab", l.Prefix)
	ctx = log.IntoContext(ctx, logger)
	logger.Info("starting lab", "nodes", len(plan.Nodes), "pods", len(plan.Pods), "dir", l.Dir)

	// The control plane takes seconds to start; build the network meanwhile.
	var cpErr error
	var wg sync.WaitGroup
	wg.Go(func() { cpErr = l.startControlPlane(ctx, opts) })
	netErr := l.buildNetwork(ctx, opts.ExtraPorts)
	wg.Wait()
	if err := errors.Join(cpErr, netErr); err != nil {
		return nil, err
	}
	if err := l.startRelays(ctx); err != nil {
		return nil, err
	}
	if err := l.createObjects(ctx); err != nil {
		return nil, err
	}
	if len(opts.NodeProcess.Command) > 0 {
		if err := l.startNodeProcesses(ctx, opts.NodeProcess); err != nil {
			return nil, err
		}
	}
	logger.Info("lab ready", "kubeconfig", l.Kubeconfig)
	return l, nil
}

// WorkDir is the working directory of the run with the given prefix.
func WorkDir(prefix string) string { return filepath.Join(os.TempDir(), prefix) }

// onClose registers a teardown step.
func (l *Lab) onClose(what string, fn func() error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closers = append(l.closers, closer{what, fn})
}

// Close tears the lab down, last built first, and reports every step that failed. It is
// idempotent.
func (l *Lab) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	steps := slices.Clone(l.closers)
	l.mu.Unlock()
	var errs []error
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("removing %s: %w", steps[i].what, err))
		}
	}
	return errors.Join(errs...)
}

// Probe measures the matrix between every ordered pair of distinct pods on ports, in
// `kubectl palisade matrix` order. A pod answers only on its declared container ports and
// Options.ExtraPorts: probe other ports and the flow is refused whatever the policies say.
func (l *Lab) Probe(ctx context.Context, ports []probe.Port, opts probe.Options) ([]probe.Verdict, error) {
	eps := make([]probe.Endpoint, 0, len(l.pods))
	for _, p := range l.pods {
		eps = append(eps, probe.Endpoint{Ref: p.Ref, IP: p.IP, NS: p.ns})
	}
	return probe.Run(ctx, eps, ports, opts)
}

// NodeNS returns the network namespace of the named node.
func (l *Lab) NodeNS(node string) (*netns.NS, bool) {
	for _, n := range l.nodes {
		if n.Name == node {
			return n.ns, true
		}
	}
	return nil, false
}

// PodNS returns the network namespace of the pod "namespace/name".
func (l *Lab) PodNS(ref string) (*netns.NS, bool) {
	for _, p := range l.pods {
		if p.Ref == ref {
			return p.ns, true
		}
	}
	return nil, false
}

// NodeKubeconfig is the kubeconfig for processes inside the named node's namespace: it points
// at the node's relay, https://127.0.0.1:6443.
func (l *Lab) NodeKubeconfig(node string) (string, bool) {
	for _, n := range l.nodes {
		if n.Name == node {
			return n.kubeconfig, true
		}
	}
	return "", false
}

// NodeProcessLog is the file holding the named node's process output.
func (l *Lab) NodeProcessLog(node string) (string, bool) {
	for _, n := range l.nodes {
		if p := l.nodeProc(n); n.Name == node && p != nil {
			return p.logPath, true
		}
	}
	return "", false
}

// StopAPIServer stops kube-apiserver; etcd keeps the cluster's state and the relays stay up
// (their connections fail until StartAPIServer).
func (l *Lab) StopAPIServer() error {
	if err := l.env.ControlPlane.APIServer.Stop(); err != nil {
		return fmt.Errorf("stopping the API server: %w", err)
	}
	return nil
}

// StartAPIServer starts kube-apiserver again after StopAPIServer, on the same address with the
// same certificates, so kubeconfigs stay valid; it returns once the server is healthy.
func (l *Lab) StartAPIServer() error {
	if err := l.env.ControlPlane.APIServer.Start(); err != nil {
		return fmt.Errorf("starting the API server: %w", err)
	}
	return nil
}

// stopTimeout bounds how long a node process may take to stop after SIGTERM.
const stopTimeout = 5 * time.Second
