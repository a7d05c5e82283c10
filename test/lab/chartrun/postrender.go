package chartrun

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// When postRenderURLEnv is set, a program calling ServePostRenderer first thing is the Helm
// post-renderer plugin: helm runs it with that environment (Helm.env).
const (
	postRenderURLEnv = "PALISADE_CHARTLAB_WEBHOOK_URL"
	postRenderCAEnv  = "PALISADE_CHARTLAB_WEBHOOK_CA"
	// PostRendererName is the plugin's name, for `helm install --post-renderer`.
	PostRendererName = "lab-webhooks"
)

// ServePostRenderer makes the calling program double as the post-renderer plugin Helm runs: when
// the plugin's environment is set, it reads the rendered manifests on stdin, writes them back with
// the webhook configurations pointed at the lab (PointWebhooks) and exits; otherwise it returns.
// palisade-lab and the lab's test binary call it before anything else.
func ServePostRenderer() {
	base := os.Getenv(postRenderURLEnv)
	if base == "" {
		return
	}
	out, err := PointWebhooks(os.Stdin, base, os.Getenv(postRenderCAEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, PostRendererName+" post-renderer:", err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
	os.Exit(0)
}

// PointWebhooks replaces each webhook's clientConfig.service (which the lab's API server cannot
// reach: no Service network) by a URL of base with the service's path, and, when caBundle is not
// empty, sets the caBundle (what cert-manager's cainjector does in a cluster; in the chart's self
// mode the controller injects it). Every other object, and every other field, is left as the chart
// rendered it.
func PointWebhooks(r io.Reader, base, caBundle string) ([]byte, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out bytes.Buffer
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading the rendered manifests: %w", err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal(doc, &obj); err != nil {
			return nil, fmt.Errorf("parsing a rendered object: %w", err)
		}
		if obj == nil {
			continue
		}
		if kind, _ := obj["kind"].(string); kind == "MutatingWebhookConfiguration" || kind == "ValidatingWebhookConfiguration" {
			webhooks, _ := obj["webhooks"].([]any)
			for _, w := range webhooks {
				wh, _ := w.(map[string]any)
				cc, _ := wh["clientConfig"].(map[string]any)
				svc, _ := cc["service"].(map[string]any)
				path, _ := svc["path"].(string)
				if svc == nil || path == "" {
					return nil, fmt.Errorf("%s: webhook %v has no clientConfig.service.path", kind, wh["name"])
				}
				config := map[string]any{"url": base + path}
				if caBundle != "" {
					config["caBundle"] = caBundle
				}
				wh["clientConfig"] = config
			}
			if doc, err = yaml.Marshal(obj); err != nil {
				return nil, fmt.Errorf("writing %s: %w", kind, err)
			}
		}
		// The reader keeps a document's leading separator; write exactly one.
		doc = bytes.TrimPrefix(bytes.TrimLeft(doc, "\n"), []byte("---\n"))
		out.WriteString("---\n")
		out.Write(bytes.TrimRight(doc, "\n"))
		out.WriteString("\n")
	}
	return out.Bytes(), nil
}

// writePostRendererPlugin writes a Helm 4 postrenderer/v1 plugin named PostRendererName into dir
// (HELM_PLUGINS) whose command is program (one calling ServePostRenderer).
func writePostRendererPlugin(dir, program string) error {
	p := filepath.Join(dir, PostRendererName)
	if err := os.MkdirAll(p, 0o755); err != nil {
		return fmt.Errorf("creating the post-renderer plugin: %w", err)
	}
	manifest := fmt.Sprintf(`apiVersion: v1
name: %s
version: 0.1.0
type: postrenderer/v1
runtime: subprocess
runtimeConfig:
  platformCommand:
  - command: %q
`, PostRendererName, program)
	if err := os.WriteFile(filepath.Join(p, "plugin.yaml"), []byte(manifest), 0o644); err != nil {
		return fmt.Errorf("writing the post-renderer plugin: %w", err)
	}
	return nil
}
