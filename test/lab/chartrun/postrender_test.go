package chartrun

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestPointWebhooks checks the post-renderer: only webhook clientConfigs change.
func TestPointWebhooks(t *testing.T) {
	in := `---
apiVersion: v1
kind: Service
metadata:
  name: palisade-webhook-service
spec:
  ports:
  - port: 443
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: palisade-validating-webhook-configuration
webhooks:
- name: vnetworkpolicy.policy.palisade.dev
  clientConfig:
    service:
      name: palisade-webhook-service
      namespace: palisade-system
      path: /validate-x
  failurePolicy: Fail
`
	out, err := PointWebhooks(strings.NewReader(in), "https://127.0.0.1:1234", "Q0E=")
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(string(out), "---\n")
	if len(docs) != 3 || docs[0] != "" {
		t.Fatalf("want 2 documents, got:\n%s", out)
	}
	if !strings.Contains(docs[1], "kind: Service") || !strings.Contains(docs[1], "port: 443") {
		t.Errorf("the Service changed:\n%s", docs[1])
	}
	var vwc struct {
		Webhooks []struct {
			ClientConfig  map[string]any `json:"clientConfig"`
			FailurePolicy string         `json:"failurePolicy"`
		} `json:"webhooks"`
	}
	if err := yaml.Unmarshal([]byte(docs[2]), &vwc); err != nil {
		t.Fatal(err)
	}
	if len(vwc.Webhooks) != 1 {
		t.Fatalf("webhooks: %+v", vwc.Webhooks)
	}
	w := vwc.Webhooks[0]
	if w.ClientConfig["url"] != "https://127.0.0.1:1234/validate-x" || w.ClientConfig["caBundle"] != "Q0E=" || w.ClientConfig["service"] != nil {
		t.Errorf("clientConfig %v", w.ClientConfig)
	}
	if w.FailurePolicy != "Fail" {
		t.Errorf("failurePolicy %q: other fields must stay", w.FailurePolicy)
	}

	// In the chart's self mode the controller injects the CA: no caBundle is written.
	out, err = PointWebhooks(strings.NewReader(in), "https://palisade-webhook-service.palisade-system.svc:1234", "")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "caBundle") || !strings.Contains(string(out), "url: https://palisade-webhook-service.palisade-system.svc:1234/validate-x") {
		t.Errorf("without a CA:\n%s", out)
	}

	noPath := strings.Replace(in, "      path: /validate-x\n", "", 1)
	if _, err := PointWebhooks(strings.NewReader(noPath), "https://127.0.0.1:1234", "Q0E="); err == nil || !strings.Contains(err.Error(), "clientConfig.service.path") {
		t.Errorf("a webhook without a service path: err %v", err)
	}
	if _, err := PointWebhooks(strings.NewReader("kind: [\n"), "https://x", ""); err == nil {
		t.Error("bad YAML: no error")
	}
}
