package chartrun

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Helm runs the helm CLI against a lab's API server, with configuration directories of its own and
// the post-renderer plugin.
type Helm struct {
	// Path is the helm binary.
	Path string
	env  []string
}

// NewHelm prepares helm at path for the cluster of kubeconfig, its configuration under home, and
// the post-renderer plugin run as program (which calls ServePostRenderer), pointing the webhooks at
// webhookBase and, when ca is not empty, trusting ca.
func NewHelm(path, home, kubeconfig, program, webhookBase string, ca []byte) (*Helm, error) {
	plugins := filepath.Join(home, "plugins")
	if err := writePostRendererPlugin(plugins, program); err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "KUBECONFIG=" + kubeconfig,
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"), "HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"), "HELM_PLUGINS=" + plugins,
		postRenderURLEnv + "=" + webhookBase,
	}
	if len(ca) > 0 {
		env = append(env, postRenderCAEnv+"="+base64.StdEncoding.EncodeToString(ca))
	}
	return &Helm{Path: path, env: env}, nil
}

// Run runs helm with args and returns its combined output; a failure's error holds the output.
func (h *Helm) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, h.Path, args...)
	cmd.Env = h.env
	var b bytes.Buffer
	cmd.Stdout, cmd.Stderr = &b, &b
	if err := cmd.Run(); err != nil {
		return b.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, b.String())
	}
	return b.String(), nil
}

// ReleaseStatus is what `helm status` says of a release.
type ReleaseStatus struct {
	Version int
	Status  string
}

// Status reads the release's revision and status.
func (h *Helm) Status(ctx context.Context, release, namespace string) (ReleaseStatus, error) {
	out, err := h.Run(ctx, "status", release, "-n", namespace, "-o", "json")
	if err != nil {
		return ReleaseStatus{}, err
	}
	// helm may print warnings before the document.
	if i := strings.Index(out, "{"); i > 0 {
		out = out[i:]
	}
	var rel struct {
		Version int `json:"version"`
		Info    struct {
			Status string `json:"status"`
		} `json:"info"`
	}
	if err := json.Unmarshal([]byte(out), &rel); err != nil {
		return ReleaseStatus{}, fmt.Errorf("reading helm status -o json: %w: %s", err, out)
	}
	return ReleaseStatus{Version: rel.Version, Status: rel.Info.Status}, nil
}
