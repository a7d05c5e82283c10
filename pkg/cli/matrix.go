package cli

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
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
	from   string
	to     string
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
	// IPv4 and IPv6 are the verdicts over each IP family between two dual-stack pods (absent when
	// the pods share one family only): a policy can allow one family and deny the other.
	IPv4 *bool `json:"ipv4,omitempty"`
	IPv6 *bool `json:"ipv6,omitempty"`
}

func newMatrixCommand(streams IOStreams) *cobra.Command {
	o := &matrixOptions{}
	cmd := &cobra.Command{
		Use:   "matrix -f PATH... [--ports PORT/PROTOCOL,...] [--from SELECTOR] [--to SELECTOR]",
		Short: "Show which pods of the manifests can connect to which, per port",
		Long: `matrix loads pods, namespaces, service accounts and policies from manifests and evaluates,
for every port given, a connection from every pod to every pod: allowed iff the source pod's
egress policies and the destination pod's ingress policies both allow it, as Calico would enforce
the policies once applied. A pod reaching itself (the diagonal) is always allowed: the packet
never leaves the pod's network namespace, so no policy applies, and that is what a probe measures. Without --ports, the ports are every container port the
pods declare.

--from and --to cut the matrix to the pods their label selectors match (kubectl -l syntax), and
--ports to the ports given (one port at a time if you like); -n places the objects that name no
namespace, as kubectl apply -n does. Output is written as it is computed, so memory does not grow
with the size of the matrix.

The text output has one table per port: rows are numbered sources, columns the destinations with
the same numbers (listed above the table when --from and --to differ), "." allowed and "X" denied
(the notation of the Kubernetes network-policy e2e truth tables), "-" for two pods that share no IP
family; the count of allowed connections follows each table. -o json gives
{"verdicts": [{"from", "to", "port", "protocol", "allowed", "ipv4", "ipv6"}, ...]} sorted by port,
protocol, from and to: "allowed" is the verdict over the family the pods share, IPv4 when they
share both, and between two dual-stack pods "ipv4" and "ipv6" give the verdict over each family;
pairs without a shared IP family are left out.

Exit status: 0 when the matrix was computed, 2 for bad flags or unreadable manifests.`,
		Example: `  kubectl palisade matrix -f examples/default-deny --ports 80/TCP,53/UDP
  kubectl palisade matrix -f manifests/ -o json
  kubectl palisade matrix -f manifests/ --from app=web --to 'tier in (api,db)' --ports 8080/TCP`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.ns.resolve(cmd)
			return o.run(streams)
		},
	}
	o.ns.register(cmd)
	o.input.register(cmd)
	f := cmd.Flags()
	f.StringArrayVarP(&o.files, "filename", "f", nil, "manifest file, folder (its *.yaml, *.yml and *.json files; -R for subfolders) or - for stdin; repeatable")
	f.StringVar(&o.ports, "ports", "", "comma-separated destination ports with protocol, like 80/TCP,53/UDP (default protocol TCP); default: every container port the pods declare")
	outputFlag(cmd, &o.output, outputText, outputJSON, outputYAML)
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	f.StringVar(&o.from, "from", "", "label selector of the source pods, as kubectl -l (app=web,tier!=db); default every pod")
	f.StringVar(&o.to, "to", "", "label selector of the destination pods, as kubectl -l; default every pod")
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
	if err := checkOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
		errs = append(errs, err)
	}
	fromSel, err := parsePodSelector("--from", o.from)
	if err != nil {
		errs = append(errs, err)
	}
	toSel, err := parsePodSelector("--to", o.to)
	if err != nil {
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
	from, to := selectPods(m.pods, fromSel), selectPods(m.pods, toSel)
	if len(from) == 0 || len(to) == 0 {
		return fmt.Errorf("--from %q selects %d pods and --to %q selects %d: nothing to connect", o.from, len(from), o.to, len(to))
	}
	w := bufio.NewWriter(streams.Out)
	var sink matrixSink
	switch o.output {
	case outputJSON:
		sink = &jsonSink{w: w}
	case outputYAML:
		sink = &yamlSink{w: w}
	default:
		sink = newTextSink(w, from, to)
	}
	noFamily, err := m.matrix(ports, from, to, sink)
	if err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("writing the matrix: %w", err)
	}
	if m.familyDiffers > 0 {
		fmt.Fprintf(streams.ErrOut, "note: %d connections between dual-stack pods are allowed over one IP family and denied over the other (\"4\" or \"6\" in the table: allowed over IPv4 only or IPv6 only; \"ipv4\" and \"ipv6\" in JSON)\n", m.familyDiffers)
	}
	if noFamily > 0 {
		fmt.Fprintf(streams.ErrOut, "note: %d pairs of pods share no IP family (one IPv4-only, the other IPv6-only): no flow can pass between them, so they have no verdict (\"-\" in the table, left out of JSON)\n", noFamily/len(ports))
	}
	return nil
}

// sortPorts orders ports by number, then protocol name.
func sortPorts(ports []portSpec) {
	slices.SortFunc(ports, func(a, b portSpec) int {
		return cmp.Or(cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
}

// matrixSink receives the matrix one row at a time, so that nothing larger than a row is ever
// held: memory stays bounded by the number of pods, whatever the size of the matrix.
type matrixSink interface {
	startPort(p portSpec) error
	row(p portSpec, from *podInfo, to []*podInfo, cells []cell) error
	endPort(p portSpec, allowed, total int) error
	close() error
}

// cell is one verdict of a row; ok is false when the pods share no IP family.
//
// Between two dual-stack pods a connection may be made over IPv4 or IPv6, and policies can treat
// the two differently (nets, ipVersion): allowed is the IPv4 verdict, as before, and onlyV6 says
// the IPv6 verdict differs (it is !allowed).
type cell struct {
	ok, allowed bool
	differs     bool
	// v4 and v6 are the verdicts per family between two dual-stack pods; nil otherwise (a pair that
	// shares one family has one verdict, allowed).
	v4, v6 *bool
}

// verdict is the cell as -o json|yaml writes it.
func (c cell) verdict(p portSpec, from, to *podInfo) matrixVerdict {
	return matrixVerdict{From: from.Ref.String(), To: to.Ref.String(), Port: p.Port, Protocol: p.Protocol, Allowed: c.allowed,
		IPv4: c.v4, IPv6: c.v6}
}

// matrix evaluates every pod of from to every pod of to on each port, in the order of ports, then
// source, then destination (m.pods is sorted), handing each row to the sink. It returns how many
// cells had no shared IP family.
func (m *model) matrix(ports []portSpec, from, to []*podInfo, sink matrixSink) (int, error) {
	cells := make([]cell, len(to))
	noFamily := 0
	for _, p := range ports {
		if err := sink.startPort(p); err != nil {
			return 0, err
		}
		allowed, total := 0, 0
		for _, src := range from {
			for j, dst := range to {
				srcIP, dstIP, ok := podAddresses(src, dst)
				if !ok {
					cells[j] = cell{}
					noFamily++
					continue
				}
				flow := engine.Flow{Src: srcIP, Dst: dstIP, Protocol: portProtocols[p.Protocol], SrcPort: ephemeralPort, DstPort: p.Port}
				a, err := m.allowed(flow)
				if err != nil {
					return 0, fmt.Errorf("evaluating %s -> %s %s: %w", refText(src.Ref), refText(dst.Ref), p, err)
				}
				cells[j] = cell{ok: true, allowed: a}
				// The other family, when both pods have it.
				if src6, ok6 := src.ip(true); ok6 && srcIP.Is4() {
					if dst6, ok := dst.ip(true); ok {
						flow.Src, flow.Dst = src6, dst6
						a6, err := m.allowed(flow)
						if err != nil {
							return 0, fmt.Errorf("evaluating %s -> %s %s over IPv6: %w", refText(src.Ref), refText(dst.Ref), p, err)
						}
						cells[j].v4, cells[j].v6 = &a, &a6
						if a6 != a {
							cells[j].differs = true
							m.familyDiffers++
						}
					}
				}
				total++
				if a {
					allowed++
				}
			}
			if err := sink.row(p, src, to, cells); err != nil {
				return 0, err
			}
		}
		if err := sink.endPort(p, allowed, total); err != nil {
			return 0, err
		}
	}
	return noFamily, sink.close()
}

// jsonSink writes {"verdicts": [...]} one verdict at a time, byte for byte as json.MarshalIndent
// with a two-space indent would write the whole document.
type jsonSink struct {
	w     *bufio.Writer
	count int
}

func (s *jsonSink) startPort(portSpec) error { return nil }

func (s *jsonSink) row(p portSpec, from *podInfo, to []*podInfo, cells []cell) error {
	for j, c := range cells {
		if !c.ok {
			continue
		}
		b, err := json.MarshalIndent(c.verdict(p, from, to[j]), "    ", "  ")
		if err != nil {
			return fmt.Errorf("rendering the matrix as JSON: %w", err)
		}
		sep := ",\n    "
		if s.count == 0 {
			sep = "{\n  \"verdicts\": [\n    "
		}
		s.count++
		if _, err := s.w.WriteString(sep); err != nil {
			return err
		}
		if _, err := s.w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

func (s *jsonSink) endPort(portSpec, int, int) error { return nil }

func (s *jsonSink) close() error {
	end := "\n  ]\n}\n"
	if s.count == 0 {
		end = "{\n  \"verdicts\": []\n}\n"
	}
	_, err := s.w.WriteString(end)
	return err
}

// yamlSink writes the JSON output's document as YAML, one verdict at a time. Strings are written
// as JSON strings, which YAML reads as double-quoted scalars.
type yamlSink struct {
	w     *bufio.Writer
	count int
}

func (s *yamlSink) startPort(portSpec) error { return nil }

func (s *yamlSink) row(p portSpec, from *podInfo, to []*podInfo, cells []cell) error {
	for j, c := range cells {
		if !c.ok {
			continue
		}
		if s.count == 0 {
			_, _ = s.w.WriteString("verdicts:\n") // sticky, reported by the next write
		}
		s.count++
		fromJSON, _ := json.Marshal(from.Ref.String())
		toJSON, _ := json.Marshal(to[j].Ref.String())
		families := ""
		if c.v4 != nil {
			families += fmt.Sprintf("  ipv4: %t\n", *c.v4)
		}
		if c.v6 != nil {
			families += fmt.Sprintf("  ipv6: %t\n", *c.v6)
		}
		if _, err := fmt.Fprintf(s.w, "- allowed: %t\n  from: %s\n%s  port: %d\n  protocol: %s\n  to: %s\n", c.allowed, fromJSON, families, p.Port, p.Protocol, toJSON); err != nil {
			return err
		}
	}
	return nil
}

func (s *yamlSink) endPort(portSpec, int, int) error { return nil }

func (s *yamlSink) close() error {
	if s.count == 0 {
		_, err := s.w.WriteString("verdicts: []\n")
		return err
	}
	return nil
}

// textSink prints one table per port. Rows are numbered and named, columns carry the numbers of
// the destinations, so the table stays narrow however long the pod names are:
//
//	80/TCP (row: from, column: to; . allowed, X denied, - no shared IP family; ...)
//
//	              1  2
//	1  x/a        .  X
//	2  y/backend  .  .
//
//	80/TCP: 3 of 4 connections allowed
//
// The count follows the table, since rows are printed as they are computed. When --from and --to
// select the same pods, row and column numbers name the same pods.
type textSink struct {
	w      *bufio.Writer
	num    int // width of a number
	name   int // width of the name column
	rowNum map[*podInfo]int
	ports  int
	row0   int
	// legend names the destination columns when they are not the rows' pods.
	legend string
}

func newTextSink(w *bufio.Writer, from, to []*podInfo) *textSink {
	s := &textSink{w: w, num: len(strconv.Itoa(max(len(from), len(to)))), rowNum: map[*podInfo]int{}}
	for i, p := range from {
		s.rowNum[p] = i + 1
		s.name = max(s.name, len(refText(p.Ref)))
	}
	if !slices.Equal(from, to) {
		var b strings.Builder
		b.WriteString("columns:")
		for j, p := range to {
			fmt.Fprintf(&b, " %d %s", j+1, refText(p.Ref))
			if j < len(to)-1 {
				b.WriteString(",")
			}
		}
		s.legend = b.String() + "\n\n"
	}
	return s
}

func (s *textSink) startPort(p portSpec) error {
	sep := ""
	if s.ports > 0 {
		sep = "\n"
	}
	s.ports++
	s.row0 = 0
	// bufio.Writer errors are sticky: the last write of the table reports any of them.
	_, err := fmt.Fprintf(s.w, "%s%s (row: from, column: to; . allowed, X denied, - no shared IP family, 4 or 6 allowed over that IP family only; a pod reaching itself is allowed, as no policy governs it)\n\n%s%s",
		sep, p, s.legend, strings.Repeat(" ", s.num+2+s.name))
	return err
}

func (s *textSink) row(_ portSpec, from *podInfo, to []*podInfo, cells []cell) error {
	if s.row0 == 0 {
		for j := range to {
			fmt.Fprintf(s.w, "  %*s", s.num, columnLabel(to[j], j))
		}
		_ = s.w.WriteByte('\n') // sticky: reported by the row's last write
	}
	s.row0++
	fmt.Fprintf(s.w, "%*d  %-*s", s.num, s.rowNum[from], s.name, refText(from.Ref))
	for _, c := range cells {
		sym := "-"
		switch {
		case c.ok && c.differs && c.allowed:
			sym = "4"
		case c.ok && c.differs:
			sym = "6"
		case c.ok && c.allowed:
			sym = "."
		case c.ok:
			sym = "X"
		}
		fmt.Fprintf(s.w, "  %*s", s.num, sym)
	}
	_, err := s.w.WriteString("\n")
	return err
}

func (s *textSink) endPort(p portSpec, allowed, total int) error {
	_, err := fmt.Fprintf(s.w, "\n%s: %d of %d connections allowed\n", p, allowed, total)
	return err
}

func (s *textSink) close() error { return nil }

// columnLabel is a column's number: the destination's position among the destinations.
func columnLabel(_ *podInfo, j int) string { return strconv.Itoa(j + 1) }
