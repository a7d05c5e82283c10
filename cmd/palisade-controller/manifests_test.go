package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/webhooks/serving"
)

// The Deployment and the NetworkPolicy in config/ must agree with what the binary does: its drain
// time, its ports, its flags.

func readManifest(t *testing.T, path string, into any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", path))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func managerDeployment(t *testing.T) (*appsv1.Deployment, *corev1.Container) {
	t.Helper()
	var d appsv1.Deployment
	readManifest(t, "config/manager/manager.yaml", &d)
	for i, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "manager" {
			return &d, &d.Spec.Template.Spec.Containers[i]
		}
	}
	t.Fatal("config/manager/manager.yaml: no container named manager")
	return nil, nil
}

func TestDeploymentOutlastsTheDrain(t *testing.T) {
	d, c := managerDeployment(t)
	spec := d.Spec.Template.Spec
	if spec.TerminationGracePeriodSeconds == nil {
		t.Fatal("terminationGracePeriodSeconds unset: the default 30 s does not cover the preStop delay and the drain")
	}
	var preStop time.Duration
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil || c.Lifecycle.PreStop.Sleep.Seconds <= 0 {
		t.Error("the manager container has no preStop sleep: the pod stops serving before the API servers stop calling it")
	} else {
		preStop = time.Duration(c.Lifecycle.PreStop.Sleep.Seconds) * time.Second
	}
	grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
	if grace <= preStop+drainTimeout {
		t.Errorf("terminationGracePeriodSeconds %v <= preStop %v + drain %v: the kubelet kills the replica mid-drain", grace, preStop, drainTimeout)
	}
	if serving.DefaultShutdownTimeout >= drainTimeout {
		t.Errorf("the webhook server drains for %v, not less than the manager's %v", serving.DefaultShutdownTimeout, drainTimeout)
	}
}

func TestDeploymentScheduling(t *testing.T) {
	d, _ := managerDeployment(t)
	spec := d.Spec.Template.Spec
	if spec.PriorityClassName == "" {
		t.Error("no priorityClassName: the fail-closed webhooks' replicas are evicted like any workload")
	}
	required := slices.ContainsFunc(spec.TopologySpreadConstraints, func(c corev1.TopologySpreadConstraint) bool {
		return c.WhenUnsatisfiable == corev1.DoNotSchedule && c.TopologyKey == corev1.LabelHostname &&
			c.LabelSelector != nil && c.LabelSelector.MatchLabels["app.kubernetes.io/name"] == d.Spec.Selector.MatchLabels["app.kubernetes.io/name"]
	})
	if !required {
		t.Error("no required topology spread over nodes for the manager's pods")
	}
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsUser == nil || *sc.RunAsUser == 0 || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot {
		t.Error("the pod must run as a numeric non-root user (runAsUser) with runAsNonRoot")
	}
}

// containerPort returns the port the container names name.
func containerPort(t *testing.T, c *corev1.Container, name string) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	t.Fatalf("the manager container names no port %q", name)
	return 0
}

// arg returns the value of --name in the container's args.
func arg(t *testing.T, c *corev1.Container, name string) string {
	t.Helper()
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v
		}
	}
	t.Fatalf("the manager container passes no --%s", name)
	return ""
}

func TestNetworkPolicyAdmitsOnlyTheWebhookAndMetricsPorts(t *testing.T) {
	_, c := managerDeployment(t)
	webhookPort, metricsPort := containerPort(t, c, "webhook-server"), containerPort(t, c, "metrics")
	if got := arg(t, c, "webhook-port"); got != strconv.Itoa(int(webhookPort)) {
		t.Errorf("--webhook-port=%s, but the container port webhook-server is %d", got, webhookPort)
	}
	if got := arg(t, c, "metrics-bind-address"); got != ":"+strconv.Itoa(int(metricsPort)) {
		t.Errorf("--metrics-bind-address=%s, but the container port metrics is %d", got, metricsPort)
	}

	var np networkingv1.NetworkPolicy
	readManifest(t, "config/network-policy/allow-webhook-and-metrics.yaml", &np)
	if len(np.Spec.PodSelector.MatchLabels) != 0 || len(np.Spec.PodSelector.MatchExpressions) != 0 {
		t.Error("the NetworkPolicy must select every pod of Palisade's namespace")
	}
	if !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}) {
		t.Errorf("policyTypes %v; want [Ingress]", np.Spec.PolicyTypes)
	}
	var admitted []int32
	for _, rule := range np.Spec.Ingress {
		if len(rule.Ports) == 0 {
			t.Error("an ingress rule without ports admits every port")
		}
		for _, p := range rule.Ports {
			if p.Port == nil || p.EndPort != nil {
				t.Errorf("port %+v: want one named or numbered port", p)
				continue
			}
			n := p.Port.IntVal
			if p.Port.StrVal != "" {
				n = containerPort(t, c, p.Port.StrVal)
			}
			admitted = append(admitted, n)
		}
	}
	slices.Sort(admitted)
	want := []int32{min(webhookPort, metricsPort), max(webhookPort, metricsPort)}
	if !slices.Equal(admitted, want) {
		t.Errorf("the NetworkPolicy admits ports %v; want only the webhook and metrics ports %v", admitted, want)
	}

	var k struct {
		Resources []string `json:"resources"`
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "config", "default", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(k.Resources, "../network-policy") {
		t.Error("config/default does not install config/network-policy")
	}
}
