package labcmd

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/pkg/manifest"
	"github.com/palisade-dev/palisade/test/lab"
	"github.com/palisade-dev/palisade/test/lab/netns"
	"github.com/palisade-dev/palisade/test/lab/probe"
)

// usageError is a bad flag or argument: exit status 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

// ExitCode is the process exit status for a command's error: 0 for nil, 2 for bad flags or
// manifests, 1 otherwise.
func ExitCode(err error) int {
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		return 2
	}
	return 1
}

type labFlags struct {
	files        []string
	nodes        int
	nodeCmd      string
	nodeReadyURL string
	readyTimeout time.Duration
	extraPorts   []uint16
	crdDir       string
	logDir       string
}

func (f *labFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringArrayVarP(&f.files, "filename", "f", nil, "manifest file or directory (recursive), or - for stdin; repeatable")
	fs.IntVar(&f.nodes, "nodes", 2, "least number of nodes; nodes the pods' spec.nodeName names are added")
	fs.StringVar(&f.nodeCmd, "node-cmd", "", "command run once per node inside its network namespace, split on spaces; each word is a Go template over .Node, .NodeIP, .PodCIDR, .Kubeconfig, .Dir, .NetNS (like 'palisade-enforcer run --kubeconfig {{.Kubeconfig}} --node-name {{.Node}}')")
	fs.StringVar(&f.nodeReadyURL, "node-ready-url", "", "URL polled from inside each node namespace until it answers 200, a template like --node-cmd (like http://127.0.0.1:9402/readyz); empty: ready once started")
	fs.DurationVar(&f.readyTimeout, "node-ready-timeout", time.Minute, "how long the node processes may take to become ready")
	fs.StringVar(&f.logDir, "node-log-dir", "", "directory receiving each node process's output as NODE.log, kept after the lab ends; default: inside the lab's directory, removed with it")
	fs.StringVar(&f.crdDir, "crd-dir", "", "directory of the CRDs to install; default config/crd/bases of the repository holding the working directory")
	fs.StringVar(&f.nodeCmd, "enforcer-cmd", "", "the same as --node-cmd, for the node enforcer: like 'palisade-enforcer run --kubeconfig {{.Kubeconfig}} --node-name {{.Node}}'")
}

func (f *labFlags) load(stdin io.Reader) (*manifest.Set, error) {
	if len(f.files) == 0 {
		return nil, usageError{errors.New("-f/--filename is required: give the manifest of the namespaces, pods and policies")}
	}
	set, err := manifest.Load(f.files, stdin)
	if err != nil {
		return nil, usageError{fmt.Errorf("loading manifests: %w", err)}
	}
	return set, nil
}

func (f *labFlags) start(ctx context.Context, set *manifest.Set) (*lab.Lab, error) {
	opts := lab.Options{Nodes: f.nodes, ExtraPorts: f.extraPorts, CRDDir: f.crdDir}
	if f.nodeCmd != "" {
		opts.NodeProcess = lab.NodeProcess{Command: strings.Fields(f.nodeCmd), ReadyURL: f.nodeReadyURL, ReadyTimeout: f.readyTimeout, LogDir: f.logDir}
	}
	return lab.Start(ctx, set, opts)
}

// NewRootCommand builds the palisade-lab command tree. Its context must carry a logr logger
// (log.IntoContext) and end on SIGINT/SIGTERM, which makes every command tear its lab down.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "palisade-lab",
		Short: "A Kubernetes cluster on one machine, with real packets between pods",
		Long: `palisade-lab builds a lab cluster on this machine (it must run as root): etcd and kube-apiserver
on loopback, nodes and pods as network namespaces (addresses in 198.18.0.0/15), an echo server in
every pod, and the namespaces, service accounts, pods and policies of a manifest in the API server.
Everything it creates is named pal-lab-XXXXXXXX and removed on exit, Ctrl-C included.`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.AddCommand(newProbeCommand(), newUpCommand(), newCleanupCommand(), newDemoCommand())
	return root
}

func newProbeCommand() *cobra.Command {
	var f labFlags
	var ports, output string
	var timeout time.Duration
	var parallel int
	cmd := &cobra.Command{
		Use:   "probe -f MANIFEST [--ports 80/TCP,80/UDP] [--nodes 2] [--enforcer-cmd CMD] [-o json]",
		Short: "Build a lab, measure the connectivity matrix with real packets, tear it down",
		Long: `probe builds a lab from the manifest, waits until every node process is ready, sends real
packets from every pod to every other pod on each port (a TCP connection echoed back, a UDP
datagram answered, an ICMP echo for "ICMP"), tears the lab down and prints the matrix. -o json
prints exactly the document of 'kubectl palisade matrix -o json' ({"verdicts": [{"from", "to",
"port", "protocol", "allowed"}...]} sorted by port, protocol, from, to), without the cells from a
pod to itself, which no node sees. Every pod's echo server also listens on the probed ports.

Exit status: 0 when the matrix was measured, 1 when the lab failed, 2 for bad flags.`,
		Example: `  palisade-lab probe -f examples/three-tier --ports 80/TCP,81/TCP,80/UDP,81/UDP -o json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			var ps []probe.Port
			if ports != "" {
				if ps, err = probe.ParsePorts(ports); err != nil {
					return usageError{fmt.Errorf("--ports: %w", err)}
				}
			}
			if output != "json" && output != "text" {
				return usageError{fmt.Errorf("-o/--output %q: want text or json", output)}
			}
			set, err := f.load(cmd.InOrStdin())
			if err != nil {
				return err
			}
			if ps == nil {
				if ps = declaredPorts(set); len(ps) == 0 {
					return usageError{errors.New("no --ports given and the pods declare no TCP or UDP container ports: pass --ports, like --ports 80/TCP,53/UDP")}
				}
			}
			for _, p := range ps {
				if p.Protocol != probe.ICMP {
					f.extraPorts = append(f.extraPorts, p.Port)
				}
			}
			ctx := cmd.Context()
			l, err := f.start(ctx, set)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, l.Close()) }()
			start := time.Now()
			verdicts, err := l.Probe(ctx, ps, probe.Options{Timeout: timeout, Parallel: parallel})
			if err != nil {
				return err
			}
			log.FromContext(ctx).Info("matrix measured", "probes", len(verdicts), "took", time.Since(start).Round(time.Millisecond))
			return writeMatrix(cmd.OutOrStdout(), output, verdicts)
		},
	}
	f.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&ports, "ports", "", "comma-separated ports with protocol, like 80/TCP,53/UDP; ICMP for echo requests; default: every TCP and UDP container port the pods declare")
	fs.StringVarP(&output, "output", "o", "text", "output format: text or json")
	fs.DurationVar(&timeout, "timeout", time.Second, "how long one probe waits for its answer")
	fs.IntVar(&parallel, "parallel", 32, "how many probes run at once")
	return cmd
}

// declaredPorts are the TCP and UDP container ports the manifest's pods declare (init containers
// included), in matrix order, as `kubectl palisade matrix` defaults its --ports.
func declaredPorts(set *manifest.Set) []probe.Port {
	var out []probe.Port
	for _, e := range set.Pods {
		for _, c := range append(slices.Clone(e.Object.Spec.InitContainers), e.Object.Spec.Containers...) {
			for _, cp := range c.Ports {
				proto := strings.ToUpper(string(cp.Protocol))
				if proto == "" {
					proto = probe.TCP
				}
				if (proto != probe.TCP && proto != probe.UDP) || cp.ContainerPort <= 0 || cp.ContainerPort > 65535 {
					continue
				}
				if p := (probe.Port{Port: uint16(cp.ContainerPort), Protocol: proto}); !slices.Contains(out, p) {
					out = append(out, p)
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b probe.Port) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	return out
}

func writeMatrix(w io.Writer, output string, verdicts []probe.Verdict) error {
	if output == "json" {
		b, err := json.MarshalIndent(probe.Matrix{Verdicts: verdicts}, "", "  ")
		if err != nil {
			return fmt.Errorf("rendering the matrix as JSON: %w", err)
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var b strings.Builder
	for _, v := range verdicts {
		word := "allowed"
		if !v.Allowed {
			word = "denied (" + v.Reason + ")"
		}
		fmt.Fprintf(&b, "%s -> %s %s: %s\n", v.From, v.To, probe.Port{Port: v.Port, Protocol: v.Protocol}, word)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newUpCommand() *cobra.Command {
	var f labFlags
	cmd := &cobra.Command{
		Use:   "up -f MANIFEST [--nodes 2] [--node-cmd CMD]",
		Short: "Build a lab and keep it running until Ctrl-C",
		Long: `up builds a lab from the manifest, prints the path of an admin kubeconfig and the lab's
namespaces, and keeps everything running until it receives SIGINT or SIGTERM, then tears it down.
Enter a node or pod with 'ip netns exec NAMESPACE ...'.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			set, err := f.load(cmd.InOrStdin())
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			l, err := f.start(ctx, set)
			if err != nil {
				return err
			}
			defer func() { err = errors.Join(err, l.Close()) }()
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "kubeconfig: %s\n", l.Kubeconfig)
			for _, n := range l.Plan.Nodes {
				ns, _ := l.NodeNS(n.Name)
				kc, _ := l.NodeKubeconfig(n.Name)
				fmt.Fprintf(out, "node %s: netns %s, fabric IP %s, pod CIDR %s, kubeconfig %s\n", n.Name, ns.Name, n.FabricIP, n.PodCIDR, kc)
			}
			for _, p := range l.Plan.Pods {
				ns, _ := l.PodNS(p.Ref)
				fmt.Fprintf(out, "pod %s: netns %s, IP %s, node %s\n", p.Ref, ns.Name, p.IP, p.Node)
			}
			fmt.Fprintln(out, "running; Ctrl-C tears the lab down")
			<-ctx.Done()
			return nil
		},
	}
	f.register(cmd)
	return cmd
}

func newCleanupCommand() *cobra.Command {
	var prefix string
	cmd := &cobra.Command{
		Use:   "cleanup [--prefix pal-lab-XXXXXXXX]",
		Short: "Remove the namespaces, processes and directories of lab runs that crashed",
		Long: `cleanup kills the processes running in the network namespaces of lab runs whose name starts with
--prefix (and etcd and kube-apiserver processes using their directories), deletes the namespaces
and removes the directories. The default prefix matches every lab run: do not use it while
another lab is running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !strings.HasPrefix(prefix, netns.Root) {
				return usageError{fmt.Errorf("--prefix %q: lab runs are named %sXXXXXXXX", prefix, netns.Root)}
			}
			left, err := lab.Cleanup(prefix)
			if left != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "removed %d namespaces, %d processes, %d directories\n", len(left.Namespaces), len(left.Processes), len(left.Dirs))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&prefix, "prefix", netns.Root, "prefix of the runs to remove")
	return cmd
}
