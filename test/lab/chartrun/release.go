package chartrun

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/test/lab"
)

// The chart's fixed names (charts/palisade/values.yaml: install it once per cluster).
const (
	// Namespace and ReleaseName are the release's, as in docs/install.md.
	Namespace   = "palisade-system"
	ReleaseName = "palisade"
	// WebhookService is the Service in front of the controller's webhook server.
	WebhookService = "palisade-webhook-service"
	// WebhookSecret holds the webhook serving certificate.
	WebhookSecret = "palisade-webhook-server-cert"
	// ControllerName and EnforcerName are the Deployment and the DaemonSet.
	ControllerName = "palisade-controller"
	EnforcerName   = "palisade-enforcer"
)

// WebhookHost is the name the lab's API server must resolve to 127.0.0.1
// (lab.Options.APIServerHosts): the webhook Service's DNS name in the release's namespace, which
// the serving certificate covers.
func WebhookHost() string { return WebhookService + "." + Namespace + ".svc" }

// The users of the images (docs/images.md): the controller's is non-root, the enforcer's root.
const (
	controllerUID = 65532
	enforcerUID   = 0
)

// Options configure Install.
type Options struct {
	// Lab is where the chart is installed; its API server must resolve WebhookHost
	// (lab.Options.APIServerHosts).
	Lab *lab.Lab
	// Chart is the chart's directory (charts/palisade).
	Chart string
	// Helm is the helm binary.
	Helm string
	// Controller and Enforcer are the built palisade-controller and palisade-enforcer.
	Controller, Enforcer string
	// PostRenderer is a program calling ServePostRenderer first thing; default this program.
	PostRenderer string
	// CertManager installs the chart in its cert-manager mode, this package playing cert-manager;
	// by default the chart's self mode, where the controller issues its own certificate.
	CertManager bool
	// Values are more helm flags of every install and upgrade (--set, -f).
	Values []string
	// LogDir receives each pod's output as POD.log; default a directory of the lab's, removed
	// with it.
	LogDir string
	// ReadyTimeout bounds the wait for each pod to be ready (default 90s).
	ReadyTimeout time.Duration
}

// Release is the chart installed into a lab, and its pods while they run. Its methods are not
// safe for concurrent use.
type Release struct {
	o       Options
	Helm    *Helm
	dir     string
	service *service
	// Controllers are the controller Deployment's replicas, Enforcers the DaemonSet's pods (one
	// per node), as last started.
	Controllers, Enforcers []*Pod
	// Output is helm's output of the last install or upgrade.
	Output string
	once   sync.Once
}

// Install runs helm install of the chart into the lab's API server and returns the release; Start
// runs its pods. On error, the webhook Service it started is stopped again (Close); what helm
// created stays in the API server, which the lab removes.
func Install(ctx context.Context, o Options) (r *Release, err error) {
	if o.Lab == nil || o.Chart == "" || o.Helm == "" || o.Controller == "" || o.Enforcer == "" {
		return nil, errors.New("chartrun: Lab, Chart, Helm, Controller and Enforcer are required")
	}
	if !slices.Contains(o.Lab.APIServerHosts, WebhookHost()) {
		return nil, fmt.Errorf("the lab's API server does not resolve %s: start the lab with it in Options.APIServerHosts", WebhookHost())
	}
	if o.PostRenderer == "" {
		if o.PostRenderer, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding the post-renderer program: %w", err)
		}
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	r = &Release{o: o, dir: filepath.Join(o.Lab.Dir, "chart")}
	if r.o.LogDir == "" {
		r.o.LogDir = filepath.Join(r.dir, "logs")
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, r.Close())
			r = nil
		}
	}()
	// A non-root container must reach its own directory under the lab's (0700, root's).
	for _, d := range []string{o.Lab.Dir, r.dir} {
		if err := os.MkdirAll(d, 0o711); err != nil {
			return r, fmt.Errorf("creating %s: %w", d, err)
		}
		if err := os.Chmod(d, 0o711); err != nil {
			return r, fmt.Errorf("opening %s to the containers' users: %w", d, err)
		}
	}
	if err := os.MkdirAll(r.o.LogDir, 0o755); err != nil {
		return r, fmt.Errorf("creating the pods' log directory: %w", err)
	}
	if r.service, err = newService(); err != nil {
		return r, err
	}
	var ca []byte
	var cert *servingCert
	if o.CertManager {
		if err := installCertManagerStubs(ctx, o.Lab.Client); err != nil {
			return r, err
		}
		if cert, err = newServingCert([]string{WebhookHost(), WebhookHost() + ".cluster.local"}); err != nil {
			return r, err
		}
		ca = cert.caPEM
	}
	base := "https://" + WebhookHost() + ":" + strconv.Itoa(r.service.Port())
	if r.Helm, err = NewHelm(o.Helm, filepath.Join(r.dir, "helm"), o.Lab.Kubeconfig, o.PostRenderer, base, ca); err != nil {
		return r, err
	}
	if r.Output, err = r.Helm.Run(ctx, r.helmArgs("install", "--create-namespace")...); err != nil {
		return r, err
	}
	if cert != nil {
		if err := cert.issue(ctx, o.Lab.Client, Namespace, WebhookSecret); err != nil {
			return r, err
		}
	}
	return r, nil
}

// helmArgs is an install or upgrade of the chart with the options' values and the post-renderer.
func (r *Release) helmArgs(verb string, more ...string) []string {
	args := []string{verb, ReleaseName, r.o.Chart, "-n", Namespace, "--post-renderer", PostRendererName}
	args = append(args, more...)
	if r.o.CertManager {
		args = append(args, "--set", "certificates.mode=cert-manager")
	}
	return append(args, r.o.Values...)
}

// Upgrade runs helm upgrade with the options' values and then values; the running pods are left
// as they are (Stop and Start them to roll them).
func (r *Release) Upgrade(ctx context.Context, values ...string) error {
	out, err := r.Helm.Run(ctx, append(r.helmArgs("upgrade"), values...)...)
	r.Output = out
	return err
}

// Workloads reads the controller Deployment and the enforcer DaemonSet as installed.
func (r *Release) Workloads(ctx context.Context) (*appsv1.Deployment, *appsv1.DaemonSet, error) {
	dep := &appsv1.Deployment{}
	if err := r.o.Lab.Client.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: ControllerName}, dep); err != nil {
		return nil, nil, fmt.Errorf("reading the controller Deployment: %w", err)
	}
	ds := &appsv1.DaemonSet{}
	if err := r.o.Lab.Client.Get(ctx, client.ObjectKey{Namespace: Namespace, Name: EnforcerName}, ds); err != nil {
		return nil, nil, fmt.Errorf("reading the enforcer DaemonSet: %w", err)
	}
	if !ds.Spec.Template.Spec.HostNetwork {
		return nil, nil, errors.New("the enforcer DaemonSet does not use the host network: the lab runs it in the node's namespace")
	}
	return dep, ds, nil
}

// Start runs the pods of the installed Deployment and DaemonSet, as read now: the controller's
// replicas spread over the nodes (topology spread), one enforcer per node, and waits until each
// is ready. A pod that fails to start stops the others.
func (r *Release) Start(ctx context.Context) (err error) {
	if len(r.Controllers)+len(r.Enforcers) > 0 {
		return errors.New("the release's pods are running: Stop them first")
	}
	dep, ds, err := r.Workloads(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			r.Stop()
		}
	}()
	l := r.o.Lab
	replicas := 1
	if dep.Spec.Replicas != nil {
		replicas = int(*dep.Spec.Replicas)
	}
	start := func(name, node string, spec podSpec) (*Pod, error) {
		ns, ok := l.NodeNS(node)
		kubeconfig, _ := l.NodeKubeconfig(node)
		if !ok {
			return nil, fmt.Errorf("no node %s", node)
		}
		spec.name, spec.namespace, spec.node, spec.ns, spec.kubeconfig = name, Namespace, node, ns, kubeconfig
		spec.dir, spec.imageDir = filepath.Join(r.dir, "pods", name), filepath.Join(r.dir, "images")
		spec.logPath, spec.reader = filepath.Join(r.o.LogDir, name+".log"), l.Client
		return startPod(ctx, spec)
	}
	for i := range replicas {
		node := l.Plan.Nodes[i%len(l.Plan.Nodes)].Name
		p, err := start(fmt.Sprintf("%s-%d", ControllerName, i), node, podSpec{spec: dep.Spec.Template.Spec, image: Image{Binary: r.o.Controller, UID: controllerUID, GID: controllerUID}})
		if err != nil {
			return err
		}
		r.Controllers = append(r.Controllers, p)
	}
	if len(r.Controllers) > 0 {
		port, err := containerPort(r.Controllers[0].container, "webhook-server")
		if err != nil {
			return err
		}
		r.service.setTargets(port, slices.Clone(r.Controllers))
	}
	for _, n := range l.Plan.Nodes {
		p, err := start(EnforcerName+"-"+n.Name, n.Name, podSpec{spec: ds.Spec.Template.Spec, image: Image{Binary: r.o.Enforcer, UID: enforcerUID, GID: enforcerUID}})
		if err != nil {
			return err
		}
		r.Enforcers = append(r.Enforcers, p)
	}
	errs := make([]error, len(r.Controllers)+len(r.Enforcers))
	var wg sync.WaitGroup
	for i, p := range slices.Concat(r.Controllers, r.Enforcers) {
		wg.Go(func() { errs[i] = p.WaitReady(ctx, r.o.ReadyTimeout) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Restart starts an exited pod again with the spec it was started with, as a kubelet restarts a
// container (restartPolicy Always), replaces it in Controllers or Enforcers (and as a Service
// target), and waits until it is ready.
func (r *Release) Restart(ctx context.Context, p *Pod) (*Pod, error) {
	if p.Running() {
		return nil, fmt.Errorf("pod %s is running", p.Name)
	}
	p.stopSync()
	<-p.syncDone
	np, err := startPod(ctx, p.spec)
	if err != nil {
		return nil, err
	}
	for _, pods := range []*[]*Pod{&r.Controllers, &r.Enforcers} {
		if i := slices.Index(*pods, p); i >= 0 {
			(*pods)[i] = np
		}
	}
	if slices.Contains(r.Controllers, np) {
		port, err := containerPort(np.container, "webhook-server")
		if err != nil {
			return nil, err
		}
		r.service.setTargets(port, slices.Clone(r.Controllers))
	}
	if err := np.WaitReady(ctx, r.o.ReadyTimeout); err != nil {
		return nil, err
	}
	return np, nil
}

// Pods lists every pod started, controllers first.
func (r *Release) Pods() []*Pod { return slices.Concat(r.Controllers, r.Enforcers) }

// Stop ends every pod (SIGTERM, as a rolling update does), the enforcers first.
func (r *Release) Stop() {
	for _, p := range slices.Concat(r.Enforcers, r.Controllers) {
		p.Stop()
	}
	r.Controllers, r.Enforcers = nil, nil
}

// Close stops the pods and the webhook Service. The release stays in the API server, which the
// lab's teardown removes with everything else.
func (r *Release) Close() error {
	r.once.Do(func() {
		r.Stop()
		if r.service != nil {
			r.service.close()
		}
	})
	return nil
}
