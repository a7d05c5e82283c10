package cli

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

type matrixOptions struct {
	files  []string
	ports  string
	output string
	ns     namespaceFlag
	input  inputFlag
}

// matrixVerdict is one cell of the matrix; its JSON names are part of the
// interface (the lab's end-to-end tests compare probes with them).
type matrixVerdict struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Port     uint16 `json:"port"`
	Protocol string `json:"protocol"`
	Allowed  bool   `json:"allowed"`
}

func newMatrixCommand(streams IOStreams) *cobra.Command {
	o := &matrixOptions{}
	cmd := &cobra.Command{
		Use:   "matrix -f PATH... [--ports PORT/PROTOCOL,...]",
		Short: "Show which pods of the manifests can connect to which, per port",
		Long: `matrix loads pods, namespaces, service accounts and policies from manifests and evaluates,
for every port given, a connection from every pod to every pod: allowed iff the source pod's
egress policies and the destination pod's ingress policies both allow it, as Calico would enforce
the policies once applied. A pod reaching itself (the diagonal) is always allowed: the packet
never leaves the pod's network namespace, so no policy applies, and that is what a probe measures. Without --ports, the ports are every container port the
pods declare.

The text output has one table per port: rows are numbered sources, columns the destinations with
the same numbers, "." allowed and "X" denied (the notation of the Kubernetes network-policy e2e
truth tables). -o json gives
{"verdicts": [{"from", "to", "port", "protocol", "allowed"}, ...]} sorted by port, protocol, from
and to.

Exit status: 0 when the matrix was computed, 2 for bad flags or unreadable manifests.`,
		Example: `  kubectl palisade matrix -f examples/default-deny --ports 80/TCP,53/UDP
  kubectl palisade matrix -f manifests/ -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.ns.resolve(cmd)
			return o.run(streams)
		},
	}
	o.ns.register(cmd)
	o.input.register(cmd)
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "manifest file or directory (recursive), or - for stdin; repeatable")
	f.StringVar(&o.ports, "ports", "", "comma-separated destination ports with protocol, like 80/TCP,53/UDP (default protocol TCP); default: every container port the pods declare")
	f.StringVarP(&o.output, "output", "o", outputText, "output format: text or json")
	return cmd
}

func (o *matrixOptions) run(streams IOStreams) error {
	var errs []error
	if len(o.files) == 0 {
		errs = append(errs, errors.New("-f/--filename is required: give the manifests holding the pods and policies"))
	}
	var ports []portSpec
	if o.ports != "" {
		var err error
		if ports, err = parsePorts(o.ports); err != nil {
			errs = append(errs, fmt.Errorf("--ports: %w", err))
		}
	}
	if err := validateOutput(o.output); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	opts, err := o.input.options()
	if err != nil {
		return err
	}
	set, err := manifest.LoadWith(o.files, streams.In, opts)
	if err != nil {
		return fmt.Errorf("loading manifests: %w", err)
	}
	if err := applyNamespace(set, o.ns); err != nil {
		return err
	}
	m, err := buildModel(set)
	if err != nil {
		return err
	}
	m.printWarnings(streams)
	if len(m.pods) == 0 {
		return errors.New("the manifests hold no pods with an IP: nothing to connect")
	}
	if ports == nil {
		if ports = m.declaredPorts; len(ports) == 0 {
			return errors.New("no --ports given and the pods declare no container ports: pass --ports, like --ports 80/TCP,53/UDP")
		}
	}
	sortPorts(ports)
	verdicts, err := m.matrix(ports)
	if err != nil {
		return err
	}
	if o.output == outputJSON {
		b, err := json.MarshalIndent(struct {
			Verdicts []matrixVerdict `json:"verdicts"`
		}{verdicts}, "", "  ")
		if err != nil {
			return fmt.Errorf("rendering the matrix as JSON: %w", err)
		}
		_, err = fmt.Fprintf(streams.Out, "%s\n", b)
		return err
	}
	return writeMatrixText(streams.Out, m.pods, ports, verdicts)
}

// sortPorts orders ports by number, then protocol name.
func sortPorts(ports []portSpec) {
	slices.SortFunc(ports, func(a, b portSpec) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
}

// matrix evaluates every pod to every pod on each port, in the order of
// ports, then source, then destination (m.pods is sorted).
func (m *model) matrix(ports []portSpec) ([]matrixVerdict, error) {
	out := make([]matrixVerdict, 0, len(ports)*len(m.pods)*len(m.pods))
	for _, p := range ports {
		for _, from := range m.pods {
			for _, to := range m.pods {
				src, dst, ok := podAddresses(from, to)
				if !ok {
					return nil, fmt.Errorf("pods %s and %s share no IP family", from.Ref, to.Ref)
				}
				allowed, err := m.allowed(engine.Flow{
					Src: src, Dst: dst, Protocol: portProtocols[p.Protocol], SrcPort: ephemeralPort, DstPort: p.Port,
				})
				if err != nil {
					return nil, fmt.Errorf("evaluating %s -> %s %s: %w", from.Ref, to.Ref, p, err)
				}
				out = append(out, matrixVerdict{From: from.Ref.String(), To: to.Ref.String(), Port: p.Port, Protocol: p.Protocol, Allowed: allowed})
			}
		}
	}
	return out, nil
}

// writeMatrixText prints one table per port. Rows are numbered and named,
// columns carry the row numbers, so the table stays narrow however long the
// pod names are:
//
//	80/TCP: 3 of 4 connections allowed (row: from, column: to; . allowed, X denied)
//
//	              1  2
//	1  x/a        .  X
//	2  y/backend  .  .
//
// verdicts are in the order m.matrix produces.
func writeMatrixText(w io.Writer, pods []*podInfo, ports []portSpec, verdicts []matrixVerdict) error {
	n := len(pods)
	num := len(strconv.Itoa(n)) // width of a row/column number
	name := 0
	for _, p := range pods {
		name = max(name, len(refText(p.Ref)))
	}
	var b strings.Builder
	for pi, p := range ports {
		cells := verdicts[pi*n*n : (pi+1)*n*n]
		allowed := 0
		for _, c := range cells {
			if c.Allowed {
				allowed++
			}
		}
		if pi > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s: %d of %d connections allowed (row: from, column: to; . allowed, X denied; the diagonal is a pod reaching itself, which no policy governs)\n\n", p, allowed, len(cells))
		b.WriteString(strings.Repeat(" ", num+2+name))
		for j := range pods {
			fmt.Fprintf(&b, "  %*d", num, j+1)
		}
		b.WriteString("\n")
		for i, from := range pods {
			fmt.Fprintf(&b, "%*d  %-*s", num, i+1, name, refText(from.Ref))
			for j := range pods {
				sym := "X"
				if cells[i*n+j].Allowed {
					sym = "."
				}
				fmt.Fprintf(&b, "  %*s", num, sym)
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
