package cli

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/spf13/cobra"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

// Output formats of trace and matrix.
const (
	outputText = "text"
	outputJSON = "json"
)

type traceOptions struct {
	files    []string
	from, to string
	port     string
	icmp     string
	output   string
	ns       namespaceFlag
	input    inputFlag
}

func newTraceCommand(streams IOStreams) *cobra.Command {
	o := &traceOptions{}
	cmd := &cobra.Command{
		Use:   "trace -f PATH... --from NAMESPACE/POD|IP --to NAMESPACE/POD|IP (--port PORT[/PROTOCOL] | --icmp TYPE[/CODE])",
		Short: "Explain whether one flow is allowed by the policies in the manifests",
		Long: `trace loads pods, namespaces, service accounts, Services, EndpointSlices and policies (Palisade
NetworkPolicy and GlobalNetworkPolicy, Kubernetes NetworkPolicy) from manifests and evaluates the first packet of one
connection as Calico would enforce it: the egress policies of the source pod, then the ingress
policies of the destination pod. It prints every policy visited on each side, the rule or step that
decided, and the final verdict. Policies are evaluated as if applied and enforced.

An endpoint is a pod of the manifests (NAMESPACE/POD, which must have status.podIP) or an IP
address; an address that belongs to no pod has no policy of its own. A Service's endpoints are its
EndpointSlices when the manifests hold any, else the pods its selector selects, as the EndpointSlice
controller would write them.

Exit status: 0 allowed, 1 denied, 2 bad flags or unreadable manifests.`,
		Example: `  kubectl palisade trace -f examples/default-deny --from production/client --to production/web --port 8080/TCP
  kubectl palisade trace -f policies/ -f pods.yaml --from x/a --to 10.0.0.7 --icmp 8/0 -o json`,
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
	f.StringVar(&o.from, "from", "", "source: NAMESPACE/POD or an IP address")
	f.StringVar(&o.to, "to", "", "destination: NAMESPACE/POD or an IP address")
	f.StringVar(&o.port, "port", "", "destination port and protocol, like 80/TCP, 53/UDP or 9000/SCTP (default protocol TCP)")
	f.StringVar(&o.icmp, "icmp", "", "ICMP (ICMPv6 for IPv6 addresses) type and optional code instead of a port, like 8/0")
	outputFlag(cmd, &o.output, outputText, outputJSON, outputYAML)
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	return cmd
}

func (o *traceOptions) run(streams IOStreams) error {
	if err := o.validate(); err != nil {
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
	from, err := m.resolve("from", o.from)
	if err != nil {
		return err
	}
	to, err := m.resolve("to", o.to)
	if err != nil {
		return err
	}
	src, dst, err := pickAddresses(from, to)
	if err != nil {
		return err
	}
	flow := engine.Flow{Src: src, Dst: dst}
	fd := flowDesc{From: from, To: to}
	fd.From.IP, fd.To.IP = src, dst
	if o.port != "" {
		p, _ := parsePort(o.port) // validated
		flow.Protocol, flow.SrcPort, flow.DstPort = portProtocols[p.Protocol], ephemeralPort, p.Port
		fd.What = fmt.Sprintf("%s port %d", p.Protocol, p.Port)
	} else {
		ic, _ := parseICMP(o.icmp) // validated
		name := "ICMP"
		flow.Protocol = engine.ProtoICMP
		if src.Is6() {
			name, flow.Protocol = "ICMPv6", engine.ProtoICMPv6
		}
		flow.ICMP = &engine.ICMPMatch{Type: ic.Type, Code: ic.Code}
		fd.What = fmt.Sprintf("%s type %d code %d", name, ic.Type, ic.Code)
	}
	v, err := m.evaluate(flow)
	if err != nil {
		return fmt.Errorf("evaluating %s -> %s: %w", from, to, err)
	}
	if o.output != outputText {
		// An empty list reads better than null for jq users.
		for _, t := range []*engine.DirectionTrace{&v.Egress, &v.Ingress} {
			if t.Policies == nil {
				t.Policies = []engine.PolicyTrace{}
			}
		}
		if err := writeStructured(streams.Out, o.output, &v); err != nil {
			return err
		}
	} else if err := writeTraceText(streams.Out, fd, &v); err != nil {
		return err
	}
	if !v.Allowed {
		return &ExitError{Code: ExitInvalid}
	}
	return nil
}

// ephemeralPort is the source port of traced flows. Kubernetes policies
// never look at it; Calico source-port rules would, and then the trace
// shows it.
const ephemeralPort = 40000

func (o *traceOptions) validate() error {
	var errs []error
	if len(o.files) == 0 {
		errs = append(errs, errors.New("-f/--filename is required: give the manifests holding the pods and policies"))
	}
	if o.from == "" {
		errs = append(errs, errors.New("--from is required (NAMESPACE/POD or an IP address)"))
	}
	if o.to == "" {
		errs = append(errs, errors.New("--to is required (NAMESPACE/POD or an IP address)"))
	}
	switch {
	case o.port != "" && o.icmp != "":
		errs = append(errs, errors.New("--port and --icmp are exclusive: trace one flow at a time"))
	case o.port == "" && o.icmp == "":
		errs = append(errs, errors.New("one of --port PORT[/PROTOCOL] or --icmp TYPE[/CODE] is required"))
	case o.port != "":
		if _, err := parsePort(o.port); err != nil {
			errs = append(errs, fmt.Errorf("--port: %w", err))
		}
	default:
		if _, err := parseICMP(o.icmp); err != nil {
			errs = append(errs, fmt.Errorf("--icmp: %w", err))
		}
	}
	if err := checkOutput(o.output, outputText, outputJSON, outputYAML); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// pickAddresses chooses the source and destination addresses: explicit IPs
// as given, and for a pod its address in the family of the other side
// (IPv4 first when both are pods with both families).
func pickAddresses(from, to endpointArg) (netip.Addr, netip.Addr, error) {
	fixed := func(e endpointArg) bool { return e.IP.IsValid() }
	switch {
	case fixed(from) && fixed(to):
		if from.IP.Is6() != to.IP.Is6() {
			return netip.Addr{}, netip.Addr{}, fmt.Errorf("--from %s and --to %s are of different IP families", from.IP, to.IP)
		}
		return from.IP, to.IP, nil
	case fixed(from):
		dst, ok := to.Pod.ip(from.IP.Is6())
		if !ok {
			return netip.Addr{}, netip.Addr{}, fmt.Errorf("--to pod %s has no %s address to match --from %s", to.Pod.Ref, family(from.IP.Is6()), from.IP)
		}
		return from.IP, dst, nil
	case fixed(to):
		src, ok := from.Pod.ip(to.IP.Is6())
		if !ok {
			return netip.Addr{}, netip.Addr{}, fmt.Errorf("--from pod %s has no %s address to match --to %s", from.Pod.Ref, family(to.IP.Is6()), to.IP)
		}
		return src, to.IP, nil
	}
	src, dst, ok := podAddresses(from.Pod, to.Pod)
	if !ok {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("pods %s and %s share no IP family", from.Pod.Ref, to.Pod.Ref)
	}
	return src, dst, nil
}

// podAddresses picks the addresses of a pod-to-pod flow: IPv4 when both
// pods have one, else IPv6.
func podAddresses(a, b *podInfo) (netip.Addr, netip.Addr, bool) {
	for _, v6 := range []bool{false, true} {
		src, ok1 := a.ip(v6)
		dst, ok2 := b.ip(v6)
		if ok1 && ok2 {
			return src, dst, true
		}
	}
	return netip.Addr{}, netip.Addr{}, false
}

func family(v6 bool) string {
	if v6 {
		return "IPv6"
	}
	return "IPv4"
}

// printWarnings writes the model's warnings to stderr, where they do not
// mix with the JSON output.
func (m *model) printWarnings(streams IOStreams) {
	for _, n := range m.notes {
		fmt.Fprintf(streams.ErrOut, "note: %s\n", escapeLines(n))
	}
	for _, w := range m.warnings {
		fmt.Fprintf(streams.ErrOut, "warning: %s\n", escapeLines(w))
	}
}
