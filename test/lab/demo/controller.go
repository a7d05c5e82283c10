package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-dev/palisade/test/lab"
)

// controllerStopTimeout bounds how long palisade-controller may take to stop after SIGTERM.
const controllerStopTimeout = 15 * time.Second

// controller is a running palisade-controller, started in the root namespace (it reaches the API
// server and is called by it on loopback, as the envtest suites run it).
type controller struct {
	cmd     *exec.Cmd
	logPath string
	probes  string
	exited  chan struct{}
	waitErr error
}

// startController runs palisade-controller against the lab: its admission webhooks on the port the
// lab registered them at, with the serving certificate of the lab's self-signed CA (cert-manager
// mode: the certificate is on disk, as a mounted Secret would be), and the rollout operator.
func startController(bin string, l *lab.Lab, logPath string, reportInterval time.Duration) (*controller, error) {
	if l.Webhook == nil {
		return nil, errors.New("the lab registered no webhooks")
	}
	probePort, err := freePort()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the controller's log: %w", err)
	}
	cmd := exec.Command(bin,
		"--kubeconfig="+l.Kubeconfig,
		"--cert-source=cert-manager",
		"--webhook-cert-dir="+l.Webhook.CertDir,
		"--webhook-port="+strconv.Itoa(l.Webhook.Port),
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(probePort),
		"--metrics-bind-address=0",
		"--namespace="+operatorNamespace,
		"--report-interval="+reportInterval.String(),
		"--report-batch="+reportBatch(reportInterval).String(),
	)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Env = append(os.Environ(), "KUBECONFIG="+l.Kubeconfig)
	// Its own process group, killed if the demo dies; its command line names the lab's directory,
	// so `palisade-lab cleanup` finds it after a crash.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	c := &controller{cmd: cmd, logPath: logPath, probes: "http://127.0.0.1:" + strconv.Itoa(probePort), exited: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		f.Close()
		close(c.exited)
	}()
	return c, nil
}

// reportBatch is the controller's --report-batch for a report interval: a fifth of it, so that a
// decision follows the report that allows it within a second or so, while the two nodes' reports
// of one interval are still mostly decided together.
func reportBatch(interval time.Duration) time.Duration {
	return max(interval/5, 100*time.Millisecond)
}

// waitReady polls /readyz until it answers 200 (the webhooks serve, the caches are synced).
func (c *controller) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	var last string
	for {
		select {
		case <-c.exited:
			if c.waitErr == nil {
				return fmt.Errorf("palisade-controller exited with status 0 before it was ready; its log %s ends with:\n%s", c.logPath, tail(c.logPath, 20))
			}
			return fmt.Errorf("palisade-controller exited before it was ready (%w); its log %s ends with:\n%s", c.waitErr, c.logPath, tail(c.logPath, 20))
		default:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.probes+"/readyz", nil)
		if err != nil {
			return fmt.Errorf("palisade-controller's readiness URL: %w", err)
		}
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("palisade-controller not ready at %s/readyz after %v (last: %s); its log %s ends with:\n%s", c.probes, timeout, last, c.logPath, tail(c.logPath, 20))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the controller's process group, then SIGKILL after controllerStopTimeout.
func (c *controller) stop() error {
	pgid := -c.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-c.exited:
		return nil
	case <-time.After(controllerStopTimeout):
	}
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-c.exited
	return fmt.Errorf("palisade-controller ignored SIGTERM for %v and was killed", controllerStopTimeout)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("choosing a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

// binaries are the programs the demo runs.
type binaries struct {
	controller, enforcer, kubectlPalisade, kubectl string
}

// findBinaries looks for Palisade's binaries in dir and kubectl in the envtest assets directory.
func findBinaries(dir, assetsDir string) (binaries, error) {
	b := binaries{
		controller:      filepath.Join(dir, "palisade-controller"),
		enforcer:        filepath.Join(dir, "palisade-enforcer"),
		kubectlPalisade: filepath.Join(dir, "kubectl-palisade"),
		kubectl:         filepath.Join(assetsDir, "kubectl"),
	}
	var missing []string
	for _, p := range []string{b.controller, b.enforcer, b.kubectlPalisade, b.kubectl} {
		if fi, err := os.Stat(p); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return b, fmt.Errorf("missing programs %s: build them with 'make build envtest-bins' (or give --bin-dir)", strings.Join(missing, ", "))
	}
	return b, nil
}
