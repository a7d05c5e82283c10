package chartrun

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/palisade-dev/palisade/test/lab/netns"
)

// Image is what the lab knows of a container image: the built program it runs and the user its
// configuration names (the USER of the Dockerfile and of `make images`, docs/images.md).
type Image struct {
	Binary   string
	UID, GID int64
}

// Pod is one container of a pod of the chart's workloads, run as a kubelet would run it.
type Pod struct {
	// Name is the pod's name (palisade-controller-0, palisade-enforcer-node-a); Node the node it
	// runs on, NS the network namespace it runs in.
	Name string
	Node string
	NS   *netns.NS
	// Argv and Env are what it was started with; UID and GID its user and group.
	Argv     []string
	Env      map[string]string
	UID, GID uint32
	// LogPath receives its output; every start writes a line "=== ARGV" first.
	LogPath string
	// MemoryLimit is its container's limits.memory in bytes (0: none).
	MemoryLimit int64

	container corev1.Container
	spec      podSpec
	cmd       *exec.Cmd
	exited    chan struct{}
	waitErr   error
	grace     time.Duration
	stopSync  context.CancelFunc
	syncDone  chan struct{}

	mu      sync.Mutex
	peakRSS int64
	syncErr error
}

// podSpec is what startPod needs to start one pod.
type podSpec struct {
	name, namespace, node string
	ns                    *netns.NS
	spec                  corev1.PodSpec
	image                 Image
	// dir is the pod's directory (kubeconfig, volumes); imageDir where programs are copied.
	dir, imageDir string
	kubeconfig    string
	logPath       string
	reader        client.Reader
}

// startPod starts the pod's only container.
func startPod(ctx context.Context, s podSpec) (*Pod, error) {
	if len(s.spec.Containers) != 1 {
		return nil, fmt.Errorf("pod %s: %d containers, the lab runs pods of one", s.name, len(s.spec.Containers))
	}
	c := s.spec.Containers[0]
	uid, gid, err := containerUser(s.spec.SecurityContext, c.SecurityContext, s.image)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	env, err := containerEnv(c, s.namespace, s.name, s.node)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	// The pods' directory is open to every user, each pod's to its own only.
	if err := os.MkdirAll(filepath.Dir(s.dir), 0o711); err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	if err := os.Chown(s.dir, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	program, err := installProgram(s.image.Binary, s.imageDir)
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	kubeconfig := filepath.Join(s.dir, "kubeconfig")
	if err := copyFile(s.kubeconfig, kubeconfig, 0o400, int(uid), int(gid)); err != nil {
		return nil, fmt.Errorf("pod %s: the kubeconfig: %w", s.name, err)
	}
	argv := append(containerArgv(c, env, program), "--kubeconfig="+kubeconfig)
	p := &Pod{
		Name: s.name, Node: s.node, NS: s.ns, Env: env, UID: uid, GID: gid, LogPath: s.logPath,
		container: c, spec: s, exited: make(chan struct{}), grace: 30 * time.Second,
	}
	if s.spec.TerminationGracePeriodSeconds != nil {
		p.grace = time.Duration(*s.spec.TerminationGracePeriodSeconds) * time.Second
	}
	if q, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		p.MemoryLimit = q.Value()
	}
	vols, err := secretVolumes(s.spec, c, filepath.Join(s.dir, "volumes"))
	if err != nil {
		return nil, fmt.Errorf("pod %s: %w", s.name, err)
	}
	for _, v := range vols {
		if err := v.sync(ctx, s.reader, s.namespace); err != nil {
			return nil, fmt.Errorf("pod %s: %w", s.name, err)
		}
	}
	p.Argv = mountedPaths(argv, vols)

	f, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("pod %s: its log: %w", s.name, err)
	}
	fmt.Fprintf(f, "=== %s\n", strings.Join(p.Argv, " "))
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	// The container's env and the machine's PATH (the image's own PATH finds iptables; here the
	// machine's does).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		cmd.Env = append(cmd.Env, k+"="+env[k])
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true, Pdeathsig: syscall.SIGKILL,
		// The container's user and group, and no supplementary groups.
		Credential: &syscall.Credential{Uid: uid, Gid: gid},
	}
	// The child is forked from a thread inside the node's namespace, so it starts there.
	if err := s.ns.Do(cmd.Start); err != nil {
		f.Close()
		return nil, fmt.Errorf("starting pod %s: %w", s.name, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		f.Close()
		close(p.exited)
	}()
	// The kubelet keeps a mounted Secret in step with the Secret; the same loop samples memory.
	syncCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p.stopSync, p.syncDone = cancel, make(chan struct{})
	go p.keepInStep(syncCtx, s.reader, s.namespace, vols)
	return p, nil
}

// keepInStep rewrites the Secret volumes when their Secrets change and samples the process's
// peak resident memory, every half second until ctx ends or the process exits.
func (p *Pod) keepInStep(ctx context.Context, r client.Reader, namespace string, vols []*secretVolume) {
	defer close(p.syncDone)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if rss, err := peakRSS(p.cmd.Process.Pid); err == nil {
			p.mu.Lock()
			p.peakRSS = max(p.peakRSS, rss)
			p.mu.Unlock()
		}
		for _, v := range vols {
			if err := v.sync(ctx, r, namespace); err != nil && ctx.Err() == nil {
				p.mu.Lock()
				p.syncErr = err
				p.mu.Unlock()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.exited:
			return
		case <-t.C:
		}
	}
}

// PeakRSS is the most resident memory the process was seen using (VmHWM, sampled every half
// second while it ran), in bytes.
func (p *Pod) PeakRSS() int64 {
	if rss, err := peakRSS(p.cmd.Process.Pid); err == nil {
		p.mu.Lock()
		p.peakRSS = max(p.peakRSS, rss)
		p.mu.Unlock()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.peakRSS
}

// peakRSS reads VmHWM of /proc/PID/status.
func peakRSS(pid int) (int64, error) {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM %q: %w", rest, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// Running reports whether the process has not exited.
func (p *Pod) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Pid is the process's id.
func (p *Pod) Pid() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM to the process group, then SIGKILL after the pod's grace period, as a
// kubelet does.
func (p *Pod) Stop() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(p.grace):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
	}
	p.stopSync()
	<-p.syncDone
}

// Kill sends SIGKILL: the process cannot clean up (a node lost, an OOM kill).
func (p *Pod) Kill() {
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
	p.stopSync()
	<-p.syncDone
}

// Log is the process's output since it was last started.
func (p *Pod) Log() string {
	b, _ := os.ReadFile(p.LogPath)
	text := string(b)
	return text[max(strings.LastIndex(text, "=== "), 0):]
}

// WaitReady polls the container's readiness probe, then its liveness probe, inside the pod's
// namespace as a kubelet's probes reach the pod, until each answers 200.
func (p *Pod) WaitReady(ctx context.Context, timeout time.Duration) error {
	for _, probe := range []*corev1.Probe{p.container.ReadinessProbe, p.container.LivenessProbe} {
		url, err := probeURL(p.container, probe)
		if err != nil {
			return fmt.Errorf("pod %s: %w", p.Name, err)
		}
		if err := p.waitOK(ctx, url, timeout); err != nil {
			return err
		}
	}
	return nil
}

// ProbeURL is the URL of the container's readiness probe inside the pod's namespace.
func (p *Pod) ProbeURL() (string, error) { return probeURL(p.container, p.container.ReadinessProbe) }

// Get sends a GET to url from inside the pod's namespace and returns the status code and body.
func (p *Pod) Get(ctx context.Context, url string) (int, string, error) {
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return p.NS.DialContext(ctx, nil, network, addr)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}

func (p *Pod) waitOK(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		if !p.Running() {
			return fmt.Errorf("%s exited before it was ready (%w); its log %s ends with:\n%s", p.Name, p.waitErr, p.LogPath, lastLines(p.Log(), 40))
		}
		code, _, err := p.Get(ctx, url)
		switch {
		case err == nil && code == http.StatusOK:
			return nil
		case err == nil:
			last = strconv.Itoa(code)
		default:
			last = err.Error()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready at %s after %v (last: %s); its log %s ends with:\n%s", p.Name, url, timeout, last, p.LogPath, lastLines(p.Log(), 40))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// containerUser is the user and group a container runs as: its security context's, else the
// pod's, else the image's; a container that must not run as root (runAsNonRoot) and would is
// refused, as the kubelet refuses to start it.
func containerUser(pod *corev1.PodSecurityContext, c *corev1.SecurityContext, img Image) (uid, gid uint32, err error) {
	u, g := img.UID, img.GID
	var nonRoot *bool
	if pod != nil {
		if pod.RunAsUser != nil {
			u = *pod.RunAsUser
		}
		if pod.RunAsGroup != nil {
			g = *pod.RunAsGroup
		}
		nonRoot = pod.RunAsNonRoot
	}
	if c != nil {
		if c.RunAsUser != nil {
			u = *c.RunAsUser
		}
		if c.RunAsGroup != nil {
			g = *c.RunAsGroup
		}
		if c.RunAsNonRoot != nil {
			nonRoot = c.RunAsNonRoot
		}
	}
	if u < 0 || g < 0 || u > 1<<31 || g > 1<<31 {
		return 0, 0, fmt.Errorf("user %d, group %d: out of range", u, g)
	}
	if nonRoot != nil && *nonRoot && u == 0 {
		return 0, 0, errors.New("container has runAsNonRoot and would run as root (uid 0)")
	}
	return uint32(u), uint32(g), nil
}

// containerArgv is the argument vector a kubelet would start for c: its command (the image's
// entrypoint, program, when it has none; program replaces the image's path of the program when it
// has one) then its args, with $(VAR) references to the container's env expanded.
func containerArgv(c corev1.Container, env map[string]string, program string) []string {
	argv := append([]string{program}, c.Args...)
	if len(c.Command) > 0 {
		argv = append(append([]string{program}, c.Command[1:]...), c.Args...)
	}
	for i, a := range argv {
		for k, v := range env {
			a = strings.ReplaceAll(a, "$("+k+")", v)
		}
		argv[i] = a
	}
	return argv
}

// containerEnv is c's env as a kubelet fills it for pod of namespace on node: plain values, the
// downward API fields the chart uses, and limits.memory (in bytes, the machine's memory when the
// container has no limit, as the kubelet uses the node's allocatable). Any other source is an
// error: it would need support here.
func containerEnv(c corev1.Container, namespace, pod, node string) (map[string]string, error) {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			env[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			env[e.Name] = namespace
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name":
			env[e.Name] = pod
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "spec.nodeName":
			env[e.Name] = node
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			q, ok := c.Resources.Limits[corev1.ResourceMemory]
			if !ok {
				var err error
				if q, err = machineMemory(); err != nil {
					return nil, fmt.Errorf("env %s: %w", e.Name, err)
				}
			}
			divisor := e.ValueFrom.ResourceFieldRef.Divisor
			if divisor.IsZero() {
				divisor = resource.MustParse("1")
			}
			// The kubelet rounds up to a whole number of divisors.
			v := (q.Value() + divisor.Value() - 1) / divisor.Value()
			env[e.Name] = strconv.FormatInt(v, 10)
		default:
			return nil, fmt.Errorf("container %s: env %s has a source the lab does not fill: %+v", c.Name, e.Name, e.ValueFrom)
		}
	}
	return env, nil
}

func machineMemory() (resource.Quantity, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return resource.Quantity{}, fmt.Errorf("reading the machine's memory: %w", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return resource.Quantity{}, fmt.Errorf("MemTotal %q: %w", rest, err)
			}
			return *resource.NewQuantity(kb*1024, resource.BinarySI), nil
		}
	}
	return resource.Quantity{}, errors.New("no MemTotal in /proc/meminfo")
}

// secretVolume is a Secret volume mounted into the container: the directory the lab keeps in step
// with the Secret.
type secretVolume struct {
	mountPath, dir, secret string
	mode                   os.FileMode
	optional               bool
	written                string // resourceVersion last written
}

// secretVolumes lists the container's Secret volume mounts, each with its directory under dir.
// Other volumes (the enforcer's hostPath /run/xtables.lock) are the machine's own paths.
func secretVolumes(spec corev1.PodSpec, c corev1.Container, dir string) ([]*secretVolume, error) {
	var out []*secretVolume
	for _, m := range c.VolumeMounts {
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
		if i < 0 {
			return nil, fmt.Errorf("volume mount %s names no volume", m.Name)
		}
		s := spec.Volumes[i].Secret
		if s == nil {
			continue
		}
		mode := os.FileMode(0o644) // the kubelet's default
		if s.DefaultMode != nil {
			mode = os.FileMode(*s.DefaultMode) & 0o777
		}
		out = append(out, &secretVolume{mountPath: m.MountPath, dir: filepath.Join(dir, m.Name), secret: s.SecretName, mode: mode, optional: s.Optional != nil && *s.Optional})
	}
	return out, nil
}

// sync writes the Secret's keys as files when its resourceVersion changed: into a new directory
// renamed over the old one, so that a reader never sees half of an update.
func (v *secretVolume) sync(ctx context.Context, r client.Reader, namespace string) error {
	s := &corev1.Secret{}
	if err := r.Get(ctx, client.ObjectKey{Namespace: namespace, Name: v.secret}, s); err != nil {
		return fmt.Errorf("reading secret %s/%s for the volume at %s: %w", namespace, v.secret, v.mountPath, err)
	}
	if s.ResourceVersion == v.written {
		return nil
	}
	tmp := v.dir + ".new"
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("volume %s: %w", v.mountPath, err)
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("volume %s: %w", v.mountPath, err)
	}
	for k, data := range s.Data {
		if err := os.WriteFile(filepath.Join(tmp, k), data, v.mode); err != nil {
			return fmt.Errorf("volume %s: %w", v.mountPath, err)
		}
	}
	if err := os.RemoveAll(v.dir); err != nil {
		return fmt.Errorf("volume %s: %w", v.mountPath, err)
	}
	if err := os.Rename(tmp, v.dir); err != nil {
		return fmt.Errorf("volume %s: %w", v.mountPath, err)
	}
	v.written = s.ResourceVersion
	return nil
}

// mountedPaths replaces, in flags of the form --NAME=PATH, a volume's mount path by its directory.
func mountedPaths(argv []string, vols []*secretVolume) []string {
	out := slices.Clone(argv)
	for i, a := range out {
		name, path, ok := strings.Cut(a, "=")
		if !ok || !strings.HasPrefix(name, "-") {
			continue
		}
		for _, v := range vols {
			if filepath.Clean(path) == filepath.Clean(v.mountPath) {
				out[i] = name + "=" + v.dir
			}
		}
	}
	return out
}

// installProgram copies the built program into dir (the image's file system, readable and
// executable by any user, unlike a build directory of root's) once, and returns its path.
func installProgram(binary, dir string) (string, error) {
	dst := filepath.Join(dir, filepath.Base(binary))
	if _, err := os.Stat(dst); err == nil {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("installing %s: %w", binary, err)
	}
	if err := copyFile(binary, dst, 0o755, 0, 0); err != nil {
		return "", fmt.Errorf("installing %s: %w", binary, err)
	}
	return dst, nil
}

func copyFile(src, dst string, mode os.FileMode, uid, gid int) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chown(tmp, uid, gid); err != nil {
		return err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// probeURL is one of the container's HTTP probes as a kubelet calls it, inside the pod's
// namespace.
func probeURL(c corev1.Container, probe *corev1.Probe) (string, error) {
	if probe == nil || probe.HTTPGet == nil {
		return "", fmt.Errorf("container %s lacks an HTTP probe", c.Name)
	}
	get := probe.HTTPGet
	port := get.Port.IntVal
	if get.Port.StrVal != "" {
		var err error
		if port, err = containerPort(c, get.Port.StrVal); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("http://127.0.0.1:%d%s", port, get.Path), nil
}

func containerPort(c corev1.Container, name string) (int32, error) {
	i := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == name })
	if i < 0 {
		return 0, fmt.Errorf("container %s has no port %s", c.Name, name)
	}
	return c.Ports[i].ContainerPort, nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Port is the number of the container's port of that name.
func (p *Pod) Port(name string) (int32, error) { return containerPort(p.container, name) }
