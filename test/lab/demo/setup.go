package demo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/chartrun"
)

func (d *demo) start(ctx context.Context) error {
	d.n.section("Start a cluster on this machine")
	d.n.say("etcd and kube-apiserver (built by `make envtest-bins`) on loopback, with the chart's CRDs (charts/palisade/crds);",
		"two nodes and the pods of "+scenarioDir+" as network namespaces, an echo server in every pod.",
		"The API server finds the webhook Service by its DNS name ("+chartrun.WebhookHost()+" in its own /etc/hosts).")
	var l *lab.Lab
	err := d.n.during("starting etcd, kube-apiserver, the nodes and the pods", func() error {
		var err error
		l, err = lab.Start(ctx, d.sc.workload, lab.Options{
			Nodes:          2,
			AssetsDir:      d.o.AssetsDir,
			CRDDir:         filepath.Join(d.o.chart(), "crds"),
			APIServerHosts: []string{chartrun.WebhookHost()},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("starting the lab: %w", err)
	}
	d.l, d.rep.Prefix = l, l.Prefix
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
	d.n.section("Install Palisade with its Helm chart")
	d.n.say("helm install of charts/palisade with its defaults (two controller replicas with leader election, the",
		"controller issuing and rotating its own webhook certificate, an enforcer DaemonSet), and a short report",
		"interval for the demo. The lab has no kubelet and no Service network: a post-renderer points the webhooks",
		"at the Service's DNS name on a port the lab forwards to the controller replicas, and the lab starts each",
		"pod of the Deployment and the DaemonSet from the built binaries as a kubelet would (args, env, Secret",
		"volume, user, inside a node's network namespace). docs/demo.md says what is played and what is not.")
	values := chartValues(d.o.ReportInterval)
	fmt.Fprintf(d.n.out, "$ helm install %s charts/palisade -n %s --create-namespace %s --post-renderer %s\n",
		chartrun.ReleaseName, chartrun.Namespace, shellWords(values), chartrun.PostRendererName)
	var rel *chartrun.Release
	err := d.n.during("helm install", func() error {
		var err error
		rel, err = chartrun.Install(ctx, chartrun.Options{
			Lab: d.l, Chart: d.o.chart(), Helm: d.bins.helm, Controller: d.bins.controller, Enforcer: d.bins.enforcer,
			Values: values, LogDir: d.o.LogDir,
		})
		return err
	})
	if err != nil {
		return err
	}
	d.rel = rel
	d.n.indent(rel.Output)
	err = d.n.during("starting the Deployment's and the DaemonSet's pods and waiting for their readiness probes", func() error {
		return rel.Start(ctx)
	})
	if err != nil {
		return fmt.Errorf("starting Palisade's pods: %w", err)
	}
	d.started = time.Now()
	for _, p := range rel.Pods() {
		url, _ := p.ProbeURL()
		fmt.Fprintf(d.n.out, "%s on %s: ready (%s answered 200 inside netns %s; user %d; log %s)\n", p.Name, p.Node, url, p.NS.Name, p.UID, p.LogPath)
	}
	d.n.say("No kubelet or controller-manager reports to the API server here, so the Deployment and the DaemonSet",
		"show no ready pods below; the lab's own readiness probes above are what says they are ready.")
	for _, args := range [][]string{
		{"get", "deployments,daemonsets,services", "-n", chartrun.Namespace},
		{"get", "crds", "-o", "name"},
	} {
		out, err := d.n.expect(ctx, 0, "kubectl "+strings.Join(args, " ")+" works", d.kubectl, args...)
		if err != nil {
			return err
		}
		if args[1] == "crds" {
			for _, crd := range []string{"networkpolicies.policy.palisade.dev", "globalnetworkpolicies.policy.palisade.dev", "nodereports.policy.palisade.dev"} {
				d.n.claim(strings.Contains(out, crd), "CRD "+crd+" is served", "not listed")
			}
		}
	}
	if _, err := d.n.expect(ctx, 0, "the webhook configurations are registered", d.kubectl, "get", "validatingwebhookconfigurations,mutatingwebhookconfigurations"); err != nil {
		return err
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{}
	if err := d.l.Client.Get(ctx, client.ObjectKey{Name: "palisade-validating-webhook-configuration"}, vwc); err != nil {
		return fmt.Errorf("reading the validating webhook configuration: %w", err)
	}
	injected := len(vwc.Webhooks) > 0
	for _, w := range vwc.Webhooks {
		injected = injected && len(w.ClientConfig.CABundle) > 0
	}
	d.n.claim(injected, "palisade-controller issued its serving certificate and injected its CA into the webhook configuration's caBundle", "some webhook has no caBundle")
	return nil
}

// shellWords joins args as a shell would need them typed: a word with braces or spaces quoted.
func shellWords(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a
		if strings.ContainsAny(a, "{} ,*") {
			out[i] = "'" + a + "'"
		}
	}
	return strings.Join(out, " ")
}

// teardown stops Palisade's pods and the lab, then looks for anything left of the run.
func (d *demo) teardown() error {
	if d.l == nil {
		return nil
	}
	d.n.section("Clean up")
	var errs []error
	if d.rel != nil {
		if err := d.rel.Close(); err != nil {
			errs = append(errs, err)
		}
		fmt.Fprintln(d.n.out, "palisade-controller and palisade-enforcer pods stopped")
	}
	if err := d.l.Close(); err != nil {
		errs = append(errs, fmt.Errorf("tearing the lab down: %w", err))
	}
	fmt.Fprintln(d.n.out, "echo servers, node and pod namespaces (with their iptables rules and ipsets), etcd and kube-apiserver stopped and removed")
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
