package argocd

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite argocd-cm.yaml from health.lua")

// Keys of argocd-cm this directory sets.
const (
	healthNP         = "resource.customizations.health.policy.palisade.dev_NetworkPolicy"
	healthGNP        = "resource.customizations.health.policy.palisade.dev_GlobalNetworkPolicy"
	ignoreValidating = "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_ValidatingWebhookConfiguration"
	ignoreMutating   = "resource.customizations.ignoreDifferences.admissionregistration.k8s.io_MutatingWebhookConfiguration"
)

const cmHeader = `# Argo CD settings for Palisade, to merge into the argocd-cm ConfigMap of the Argo CD namespace
# (for example as a strategic-merge patch in the kustomization that installs Argo CD).
# GENERATED from health.lua by "go test ./config/argocd -update"; edit health.lua, not this file.
#
#   - health of both policy kinds, read from the rollout operator's conditions (see README.md);
#   - the webhook configurations' clientConfig.caBundle ignored: Palisade's manager (or cert-manager)
#     injects and rotates it, so it is never in git. Add the sync option RespectIgnoreDifferences=true
#     to the Application (application.yaml) so that a sync leaves it alone too.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  labels:
    app.kubernetes.io/name: argocd-cm
    app.kubernetes.io/part-of: argocd
data:
`

const caBundleIgnore = "jqPathExpressions:\n- .webhooks[]?.clientConfig.caBundle\n"

func indent(s string) string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = "    " + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func renderConfigMap(script string) string {
	var b strings.Builder
	b.WriteString(cmHeader)
	for _, k := range []string{healthNP, healthGNP} {
		b.WriteString("  " + k + ": |\n" + indent(script))
	}
	for _, k := range []string{ignoreValidating, ignoreMutating} {
		b.WriteString("  " + k + ": |\n" + indent(caBundleIgnore))
	}
	return b.String()
}

// TestConfigMap keeps argocd-cm.yaml equal (whole) to what health.lua renders into, and checks that
// the file, parsed as Kubernetes will parse it, gives Argo CD exactly health.lua for both kinds and the
// caBundle paths to ignore.
func TestConfigMap(t *testing.T) {
	script := readScript(t)
	want := renderConfigMap(script)
	if *update {
		if err := os.WriteFile("argocd-cm.yaml", []byte(want), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("argocd-cm.yaml")
	if err != nil {
		t.Fatalf("reading argocd-cm.yaml (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Fatalf("argocd-cm.yaml is stale; run go test ./config/argocd -update (-want +got):\n%s", diff)
	}
	var cm struct {
		Kind     string                `json:"kind"`
		Metadata struct{ Name string } `json:"metadata"`
		Data     map[string]string     `json:"data"`
	}
	if err := yaml.Unmarshal(got, &cm); err != nil {
		t.Fatalf("parsing argocd-cm.yaml: %v", err)
	}
	if cm.Kind != "ConfigMap" || cm.Metadata.Name != "argocd-cm" || len(cm.Data) != 4 {
		t.Fatalf("argocd-cm.yaml: kind %q name %q with %d keys", cm.Kind, cm.Metadata.Name, len(cm.Data))
	}
	for _, k := range []string{healthNP, healthGNP} {
		if cm.Data[k] != script {
			t.Errorf("%s is not health.lua", k)
		}
	}
	for _, k := range []string{ignoreValidating, ignoreMutating} {
		var ign struct {
			JQPathExpressions []string `json:"jqPathExpressions"`
		}
		if err := yaml.UnmarshalStrict([]byte(cm.Data[k]), &ign); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if diff := cmp.Diff([]string{".webhooks[]?.clientConfig.caBundle"}, ign.JQPathExpressions); diff != "" {
			t.Errorf("%s (-want +got):\n%s", k, diff)
		}
	}
}

// TestApplicationSnippet checks the Application example: it ignores caBundle on both webhook
// configurations Palisade installs and sets RespectIgnoreDifferences so a sync keeps the injected value.
func TestApplicationSnippet(t *testing.T) {
	raw, err := os.ReadFile("application.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var app struct {
		Kind string `json:"kind"`
		Spec struct {
			IgnoreDifferences []struct {
				Group             string   `json:"group"`
				Kind              string   `json:"kind"`
				Name              string   `json:"name"`
				JQPathExpressions []string `json:"jqPathExpressions"`
			} `json:"ignoreDifferences"`
			SyncPolicy struct {
				SyncOptions []string `json:"syncOptions"`
			} `json:"syncPolicy"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &app); err != nil {
		t.Fatalf("parsing application.yaml: %v", err)
	}
	got := map[string]string{}
	for _, d := range app.Spec.IgnoreDifferences {
		if d.Group != "admissionregistration.k8s.io" || len(d.JQPathExpressions) != 1 {
			t.Errorf("unexpected ignoreDifferences entry %+v", d)
			continue
		}
		got[d.Kind+"/"+d.Name] = d.JQPathExpressions[0]
	}
	want := map[string]string{
		"ValidatingWebhookConfiguration/palisade-validating-webhook-configuration": ".webhooks[]?.clientConfig.caBundle",
		"MutatingWebhookConfiguration/palisade-mutating-webhook-configuration":     ".webhooks[]?.clientConfig.caBundle",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("application.yaml ignoreDifferences (-want +got):\n%s", diff)
	}
	found := false
	for _, o := range app.Spec.SyncPolicy.SyncOptions {
		found = found || o == "RespectIgnoreDifferences=true"
	}
	if app.Kind != "Application" || !found {
		t.Errorf("application.yaml: kind %q, RespectIgnoreDifferences=true set: %v", app.Kind, found)
	}
}
