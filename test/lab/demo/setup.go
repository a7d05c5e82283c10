package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisade-dev/palisade/test/lab"
)

func (d *demo) start(ctx context.Context) error {
	d.n.section("Start a cluster on this machine")
	d.n.say("etcd and kube-apiserver (built by `make envtest-bins`) on loopback, with Palisade's CRDs and its",
		"webhook configurations (config/webhook) pointed at 127.0.0.1 through a self-signed CA, as the envtest",
		"suites do; two nodes and the pods of "+scenarioDir+" as network namespaces, an echo server in every pod;",
		"one palisade-enforcer per node, running inside the node's namespace as its DaemonSet pod would.")
	enforcer := []string{d.bins.enforcer, "run", "--kubeconfig", "{{.Kubeconfig}}", "--node-name", "{{.Node}}",
		"--health-addr", enforcerHealthAddr, "--metrics-addr", enforcerMetricsAddr, "--min-sync-interval", "100ms",
		"--report-interval", d.o.ReportInterval.String()}
	var l *lab.Lab
	err := d.n.during("starting etcd, kube-apiserver, the nodes, the pods and the enforcers", func() error {
		var err error
		l, err = lab.Start(ctx, d.sc.workload, lab.Options{
			Nodes:     2,
			AssetsDir: d.o.AssetsDir,
			CRDDir:    filepath.Join(d.o.RepoRoot, "config", "crd", "bases"),
			Webhooks:  []string{filepath.Join(d.o.RepoRoot, "config", "webhook", "manifests.yaml")},
			NodeProcess: lab.NodeProcess{
				Command: enforcer, ReadyURL: "http://" + enforcerHealthAddr + "/readyz", LogDir: d.o.LogDir,
			},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("starting the lab: %w", err)
	}
	d.l, d.started, d.rep.Prefix = l, time.Now(), l.Prefix
	d.kubectl = command{shown: "kubectl", path: d.bins.kubectl, env: []string{"KUBECONFIG=" + l.Kubeconfig}, dir: d.o.RepoRoot}
	d.kp = command{shown: "kubectl palisade", path: d.bins.kubectlPalisade}
	d.dir = filepath.Join(l.Dir, "demo")
	if err := os.Mkdir(d.dir, 0o700); err != nil {
		return fmt.Errorf("creating the demo's directory: %w", err)
	}
	wl, err := l.Manifest()
	if err != nil {
		return err
	}
	d.workload = filepath.Join(d.dir, "workload.yaml")
	if err := os.WriteFile(d.workload, wl, 0o600); err != nil {
		return fmt.Errorf("writing the lab's manifest: %w", err)
	}
	fmt.Fprintf(d.n.out, "lab %s is up; its kubeconfig is %s (everything it creates is named %s*)\n", l.Prefix, l.Kubeconfig, l.Prefix)
	for _, args := range [][]string{{"get", "nodes"}, {"get", "pods", "-A", "-o", "wide"}} {
		if _, err := d.n.expect(ctx, 0, "kubectl "+strings.Join(args, " ")+" works", d.kubectl, args...); err != nil {
			return err
		}
	}
	return nil
}

func (d *demo) install(ctx context.Context) error {
	d.n.section("Install Palisade")
	out, err := d.n.expect(ctx, 0, "the CRDs are installed", d.kubectl, "get", "crds", "-o", "name")
	if err != nil {
		return err
	}
	for _, crd := range []string{"networkpolicies.policy.palisade.dev", "globalnetworkpolicies.policy.palisade.dev", "nodereports.policy.palisade.dev"} {
		d.n.claim(strings.Contains(out, crd), "CRD "+crd+" is served", "not listed")
	}
	if _, err := d.n.expect(ctx, 0, "the webhook configurations are registered", d.kubectl, "get", "validatingwebhookconfigurations,mutatingwebhookconfigurations"); err != nil {
		return err
	}
	for _, node := range d.l.Plan.Nodes {
		ns, _ := d.l.NodeNS(node.Name)
		logPath, _ := d.l.NodeProcessLog(node.Name)
		fmt.Fprintf(d.n.out, "palisade-enforcer on %s: ready (%s/readyz answered 200 inside netns %s; log %s)\n", node.Name, enforcerHealthAddr, ns.Name, logPath)
	}
	logPath := filepath.Join(d.l.Dir, "palisade-controller.log")
	if d.o.LogDir != "" {
		logPath = filepath.Join(d.o.LogDir, "palisade-controller.log")
	}
	fmt.Fprintf(d.n.out, "$ %s --cert-source=cert-manager --webhook-port=%d --webhook-cert-dir=%s --namespace=%s --report-interval=%v --report-batch=%v ...\n",
		filepath.Base(d.bins.controller), d.l.Webhook.Port, d.l.Webhook.CertDir, operatorNamespace, d.o.ReportInterval, reportBatch(d.o.ReportInterval))
	if d.ctrl, err = startController(d.bins.controller, d.l, logPath, d.o.ReportInterval); err != nil {
		return err
	}
	if err := d.n.during("waiting for palisade-controller's /readyz", func() error { return d.ctrl.waitReady(ctx, time.Minute) }); err != nil {
		return err
	}
	fmt.Fprintf(d.n.out, "palisade-controller: ready (admission webhooks on https://127.0.0.1:%d, rollout operator running; log %s)\n", d.l.Webhook.Port, logPath)
	return nil
}

// teardown stops the controller and the lab, then looks for anything left of the run.
func (d *demo) teardown() error {
	if d.l == nil {
		return nil
	}
	d.n.section("Clean up")
	var errs []error
	if d.ctrl != nil {
		if err := d.ctrl.stop(); err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintln(d.n.out, "palisade-controller stopped")
	}
	if err := d.l.Close(); err != nil {
		errs = append(errs, fmt.Errorf("tearing the lab down: %w", err))
	}
	fmt.Fprintln(d.n.out, "enforcers, echo servers, node and pod namespaces (with their iptables rules and ipsets), etcd and kube-apiserver stopped and removed")
	left, err := lab.Find(d.l.Prefix)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	d.rep.Leftovers = left
	d.n.claim(len(left.Namespaces)+len(left.Processes)+len(left.Dirs) == 0,
		"nothing named "+d.l.Prefix+" is left: no namespace, process or directory",
		fmt.Sprintf("namespaces %v, processes %v, directories %v remain (palisade-lab cleanup --prefix %s removes them)", left.Namespaces, left.Processes, left.Dirs, d.l.Prefix))
	return errors.Join(errs...)
}
