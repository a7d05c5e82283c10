package lab_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/test/lab/netns"
)

// This file runs what a cluster would run for the chart's objects, in a lab that has no kubelet,
// no Service network and no cert-manager: the Helm post-renderer that stands in for the Service
// network, the chart's containers started as a kubelet would start them, and the forwarder that
// plays the webhook Service.

// When postRenderURLEnv is set, the test binary is the Helm post-renderer plugin (see init).
const (
	postRenderURLEnv = "PALISADE_CHARTLAB_WEBHOOK_URL"
	postRenderCAEnv  = "PALISADE_CHARTLAB_WEBHOOK_CA"
)

// init lets the test binary double as the post-renderer plugin `helm install --post-renderer`
// runs: it reads the rendered manifests on stdin and writes them back with the webhook
// configurations pointed at the lab.
func init() {
	base := os.Getenv(postRenderURLEnv)
	if base == "" {
		return
	}
	out, err := pointWebhooks(os.Stdin, base, os.Getenv(postRenderCAEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab-webhooks post-renderer:", err)
		os.Exit(1)
	}
	_, _ = os.Stdout.Write(out)
	os.Exit(0)
}

// pointWebhooks replaces each webhook's clientConfig.service (palisade-webhook-service, which
// the lab's API server cannot reach: no Service network) by a URL of base with the same path, and
// sets the caBundle (what cert-manager's cainjector does in a cluster). Every other object, and
// every other field, is left as the chart rendered it.
func pointWebhooks(r io.Reader, base, caBundle string) ([]byte, error) {
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
				wh["clientConfig"] = map[string]any{"url": base + path, "caBundle": caBundle}
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

// writePostRendererPlugin writes a Helm 4 postrenderer/v1 plugin named lab-webhooks into dir
// (HELM_PLUGINS) whose command is this test binary.
func writePostRendererPlugin(dir string) {
	self, err := os.Executable()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	p := filepath.Join(dir, "lab-webhooks")
	ExpectWithOffset(1, os.MkdirAll(p, 0o755)).To(Succeed())
	manifest := fmt.Sprintf(`apiVersion: v1
name: lab-webhooks
version: 0.1.0
type: postrenderer/v1
runtime: subprocess
runtimeConfig:
  platformCommand:
  - command: %q
`, self)
	ExpectWithOffset(1, os.WriteFile(filepath.Join(p, "plugin.yaml"), []byte(manifest), 0o644)).To(Succeed())
}

// containerArgv is the argument vector a kubelet would start for c: its command (the image's
// entrypoint, binary, when it has none; binary replaces the image's path of the program when it
// has one) then its args, with $(VAR) references to the container's env expanded.
func containerArgv(c corev1.Container, env map[string]string, binary string) []string {
	argv := append([]string{binary}, c.Args...)
	if len(c.Command) > 0 {
		argv = append(append([]string{binary}, c.Command[1:]...), c.Args...)
	}
	for i, a := range argv {
		for k, v := range env {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		argv[i] = a
	}
	return argv
}

// containerEnv is c's env as a kubelet fills it for a pod of namespace on node: plain values and
// the downward API fields the chart uses. Any other source fails the spec (it would need support).
func containerEnv(c corev1.Container, namespace, node string) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = namespace
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = node
		default:
			Fail(fmt.Sprintf("container %s: env %s has a source the lab does not fill: %+v", c.Name, e.Name, e.ValueFrom))
		}
	}
	return env
}

// podProcess is one container's program, run inside a network namespace.
type podProcess struct {
	name    string
	ns      *netns.NS
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
}

// startPodProcess runs argv in ns (`ip netns exec`) with exactly env plus the machine's PATH
// (the image's own PATH finds iptables; here the machine's does).
func startPodProcess(name string, ns *netns.NS, argv []string, env map[string]string, logPath string) *podProcess {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, argv...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(f, "=== %s\n", strings.Join(argv, " "))
	ExpectWithOffset(1, cmd.Start()).To(Succeed(), "starting %s", name)
	p := &podProcess{name: name, ns: ns, logPath: logPath, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p
}

// stop sends SIGTERM, then SIGKILL after 15 seconds, as a kubelet does within a grace period.
func (p *podProcess) stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
		return
	case <-time.After(15 * time.Second):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// waitReady polls url inside the process's namespace (as a kubelet's readiness probe reaches
// the pod) until it answers 200.
func (p *podProcess) waitReady(ctx context.Context, url string, timeout time.Duration) {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.ns.DialContext(ctx, nil, network, addr)
		},
	}}
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			Fail(fmt.Sprintf("%s exited before it was ready (%v); its log:\n%s", p.name, p.waitErr, lastLines(readFile(p.logPath), 40)))
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(200 * time.Millisecond)
	}
	Fail(fmt.Sprintf("%s not ready at %s after %v (last: %s); its log:\n%s", p.name, url, timeout, last, lastLines(readFile(p.logPath), 40)))
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// forwardInto is the webhook Service: it accepts on a loopback port of the machine (where the API
// server calls) and forwards each connection to *target inside ns (the pod's port, set once the
// Deployment is read). It returns the address and a function that stops it.
func forwardInto(ns *netns.NS, target *atomic.Pointer[string]) (string, func()) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				to := target.Load()
				if to == nil {
					return
				}
				d, err := ns.DialContext(ctx, &net.Dialer{Timeout: 2 * time.Second}, "tcp4", *to)
				if err != nil {
					return
				}
				defer d.Close()
				go func() { _, _ = io.Copy(d, c); _ = d.Close() }()
				_, _ = io.Copy(c, d)
			}()
		}
	}()
	return ln.Addr().String(), func() { cancel(); _ = ln.Close() }
}
