package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/log"
)

// NodeProcess is a command the lab runs once per node, inside the node's network namespace (through
// `ip netns exec`), such as `palisade-enforcer run --kubeconfig {{.Kubeconfig}} --node-name
// {{.Node}}`.
type NodeProcess struct {
	// Command is the argument vector; each element is a text/template over NodeTemplate.
	Command []string
	// Env is added to the lab process's environment.
	Env []string
	// ReadyURL is polled from inside the node namespace until it answers 200 (a template over
	// NodeTemplate, like http://127.0.0.1:9402/readyz); empty means ready once started.
	ReadyURL string
	// ReadyTimeout bounds the wait for every node to be ready (default 1 minute).
	ReadyTimeout time.Duration
	// LogDir receives the processes' output as NODE.log and is kept after the lab ends; by
	// default the output goes to process.log in the node's directory, removed with the lab.
	LogDir string
}

// NodeTemplate is what a NodeProcess's templates can use.
type NodeTemplate struct {
	// Node is the node's name, as in the Node object and the pods' spec.nodeName.
	Node string
	// NodeIP is the node's fabric address; PodCIDR its pod CIDR.
	NodeIP  string
	PodCIDR string
	// Kubeconfig reaches the API server from inside the node namespace.
	Kubeconfig string
	// Dir is a directory of the node's own, removed with the lab.
	Dir string
	// NetNS is the node's network namespace name.
	NetNS string
}

func (n *labNode) template() NodeTemplate {
	return NodeTemplate{
		Node: n.Name, NodeIP: n.FabricIP.String(), PodCIDR: n.PodCIDR.String(),
		Kubeconfig: n.kubeconfig, Dir: n.dir, NetNS: n.ns.Name,
	}
}

// nodeProcess is a running node process; exited is closed when it has been reaped.
type nodeProcess struct {
	node    string
	cmd     *exec.Cmd
	logPath string
	log     *os.File
	exited  chan struct{}
	waitErr error
}

// startNodeProcesses starts one process per node and waits until each is ready.
func (l *Lab) startNodeProcesses(ctx context.Context, spec NodeProcess) error {
	timeout := spec.ReadyTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	for _, n := range l.nodes {
		argv, err := expandAll(spec.Command, n.template())
		if err != nil {
			return err
		}
		logPath := filepath.Join(n.dir, "process.log")
		if spec.LogDir != "" {
			if err := os.MkdirAll(spec.LogDir, 0o755); err != nil {
				return fmt.Errorf("creating the node process log directory: %w", err)
			}
			logPath = filepath.Join(spec.LogDir, n.Name+".log")
		}
		p, err := startNodeProcess(n.Name, n.ns.Name, argv, spec.Env, logPath)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		l.mu.Lock()
		n.proc, n.argv, n.spec = p, argv, spec
		l.mu.Unlock()
		l.onClose("process of node "+n.Name, func() error { return l.nodeProc(n).stop() })
		log.FromContext(ctx).Info("node process started", "node", n.Name, "pid", p.cmd.Process.Pid, "log", p.logPath)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for i, n := range l.nodes {
		wg.Go(func() {
			url := ""
			if spec.ReadyURL != "" {
				var err error
				if url, err = expand(spec.ReadyURL, n.template()); err != nil {
					errs[i] = err
					return
				}
			}
			if err := l.waitReady(ctx, n, l.nodeProc(n), url); err != nil {
				errs[i] = fmt.Errorf("node %s: %w", n.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func expand(text string, data NodeTemplate) (string, error) {
	t, err := template.New("").Option("missingkey=error").Parse(text)
	if err != nil {
		return "", fmt.Errorf("node process template %q: %w", text, err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("node process template %q: %w", text, err)
	}
	return b.String(), nil
}

func expandAll(texts []string, data NodeTemplate) ([]string, error) {
	out := make([]string, 0, len(texts))
	for _, t := range texts {
		s, err := expand(t, data)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func startNodeProcess(node, ns string, argv, env []string, logPath string) (*nodeProcess, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the process log: %w", err)
	}
	// `ip netns exec` enters the namespace and execs the command, so the PID is the command's.
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), env...)
	// Its own process group, so that stopping reaches its children; killed if the lab dies.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", strings.Join(argv, " "), err)
	}
	p := &nodeProcess{node: node, cmd: cmd, logPath: logPath, log: f, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	return p, nil
}

// stop sends SIGTERM to the process group, then SIGKILL after stopTimeout.
func (p *nodeProcess) stop() error {
	pgid := -p.cmd.Process.Pid
	select {
	case <-p.exited:
		_ = syscall.Kill(pgid, syscall.SIGKILL) // children that outlived it
		return nil
	default:
	}
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
		_ = syscall.Kill(pgid, syscall.SIGKILL) // children that outlived it
		return nil
	case <-time.After(stopTimeout):
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-p.exited
	return fmt.Errorf("node %s's process ignored SIGTERM for %v and was killed", p.node, stopTimeout)
}

// waitReady polls url from inside the node namespace until it answers 200 OK, the process exits
// or ctx ends. An empty url only checks that the process is still running.
func (l *Lab) waitReady(ctx context.Context, n *labNode, p *nodeProcess, url string) error {
	client := &http.Client{
		Timeout: time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				return n.ns.DialContext(ctx, nil, network, addr)
			},
		},
	}
	defer client.CloseIdleConnections()
	var last string
	for {
		select {
		case <-p.exited:
			status := p.waitErr
			if status == nil {
				status = errors.New("exit status 0")
			}
			return fmt.Errorf("process exited before it was ready (%w); its log %s ends with:\n%s", status, p.logPath, tail(p.logPath, 20))
		default:
		}
		if url == "" {
			return nil
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("readiness URL %q: %w", url, err)
		}
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				log.FromContext(ctx).Info("node process ready", "node", n.Name)
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready at %s (last: %s); its log %s ends with:\n%s", url, last, p.logPath, tail(p.logPath, 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(unreadable: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (l *Lab) nodeProc(n *labNode) *nodeProcess {
	l.mu.Lock()
	defer l.mu.Unlock()
	return n.proc
}

func (l *Lab) node(name string) (*labNode, error) {
	for _, n := range l.nodes {
		if n.Name == name {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no node %s in the lab", name)
}

// SignalNodeProcess sends sig to the named node's process group (SIGKILL to simulate a crash).
func (l *Lab) SignalNodeProcess(node string, sig syscall.Signal) error {
	n, err := l.node(node)
	if err != nil {
		return err
	}
	p := l.nodeProc(n)
	if p == nil {
		return fmt.Errorf("node %s runs no process", node)
	}
	if err := syscall.Kill(-p.cmd.Process.Pid, sig); err != nil {
		return fmt.Errorf("signalling node %s's process: %w", node, err)
	}
	return nil
}

// WaitNodeProcessExit waits until the named node's process has exited, or ctx ends.
func (l *Lab) WaitNodeProcessExit(ctx context.Context, node string) error {
	n, err := l.node(node)
	if err != nil {
		return err
	}
	p := l.nodeProc(n)
	if p == nil {
		return fmt.Errorf("node %s runs no process", node)
	}
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for node %s's process to exit: %w", node, ctx.Err())
	}
}

// RestartNodeProcess stops the named node's process if it still runs (SIGTERM, then SIGKILL),
// starts it again with the same command, appending to the same log, and waits until it is ready.
func (l *Lab) RestartNodeProcess(ctx context.Context, node string) error {
	n, err := l.node(node)
	if err != nil {
		return err
	}
	old := l.nodeProc(n)
	if old == nil {
		return fmt.Errorf("node %s runs no process", node)
	}
	if err := old.stop(); err != nil {
		return err
	}
	p, err := startNodeProcess(n.Name, n.ns.Name, n.argv, n.spec.Env, old.logPath)
	if err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	l.mu.Lock()
	n.proc = p
	l.mu.Unlock()
	timeout := n.spec.ReadyTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	url := ""
	if n.spec.ReadyURL != "" {
		if url, err = expand(n.spec.ReadyURL, n.template()); err != nil {
			return err
		}
	}
	if err := l.waitReady(ctx, n, p, url); err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	return nil
}
