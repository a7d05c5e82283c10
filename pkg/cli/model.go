package cli

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/pkg/engine"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

// emptyInput says that the inputs hold nothing to work on.
const emptyInput = "the inputs hold no Kubernetes objects (they are empty, or hold only comments and document markers)"

// defaultNamespace is where kubectl puts namespaced objects that name no
// namespace; offline there is no kubeconfig context to ask.
const defaultNamespace = "default"

// podInfo is a pod of the model: a workload endpoint with at least one IP.
type podInfo struct {
	Ref    engine.EndpointRef
	IPs    []netip.Addr
	Labels map[string]string
	Source manifest.Source
}

// ip returns the pod's address in the family of want (IPv4 when want is
// invalid), and whether it has one.
func (p *podInfo) ip(v6 bool) (netip.Addr, bool) {
	for _, a := range p.IPs {
		if a.Is6() == v6 {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// model is the policy engine loaded with every object of a manifest set, and
// the pods it knows, for trace and matrix.
type model struct {
	eng *engine.Engine
	// pods are sorted by namespace, then name.
	pods  []*podInfo
	byRef map[engine.EndpointRef]*podInfo
	// declaredPorts are the container ports the pods declare, sorted by
	// port then protocol: matrix's default --ports.
	declaredPorts []portSpec
	// warnings are problems that do not stop the command: skipped pods,
	// policies that fail closed. They are printed to stderr.
	warnings []string
	// docs finds the document of a source, for the lines of findings.
	docs map[manifest.Source]*manifest.Document
	// familyDiffers counts the matrix cells whose IPv4 and IPv6 verdicts differ.
	familyDiffers int
	// skipped are the pods left out, with the reason.
	skipped map[engine.EndpointRef]string
	// notes say what was skipped on purpose (Deployments, ConfigMaps...).
	notes []string
	// podObjs are the workload pods as loaded (namespace defaulted), for the
	// endpoints of Services.
	podObjs []*corev1.Pod
	// services are the Services the manifests define, as Service objects or
	// through EndpointSlices.
	services map[engine.EndpointRef]bool
}

// buildModel loads set into a new engine. Every policy is loaded as the
// enforced generation: a manifest is a desired state, so trace and matrix
// answer "what if these objects were applied and enforced".
//
// Objects without a namespace are placed in "default", as kubectl would.
// Namespaces that pods or policies use but the manifests do not define are
// created without labels (the engine adds kubernetes.io/metadata.name, as
// the API server does), so that namespaceSelectors see them.
func buildModel(set *manifest.Set) (*model, error) {
	m := &model{eng: engine.New(), byRef: map[engine.EndpointRef]*podInfo{}, services: map[engine.EndpointRef]bool{}}
	if len(set.Documents) == 0 {
		return nil, errors.New(emptyInput)
	}
	m.notes = append(m.notes, set.Notes...)
	m.docs = map[manifest.Source]*manifest.Document{}
	for _, d := range set.Documents {
		m.docs[d.Source] = d
	}
	if err := m.checkKinds(set); err != nil {
		return nil, err
	}
	if err := duplicatesError(set); err != nil {
		return nil, err
	}
	namespaces := map[string]bool{}
	for _, e := range set.Namespaces {
		ns, err := engine.FromNamespace(e.Object)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Source, err)
		}
		if err := m.eng.UpsertNamespace(ns); err != nil {
			return nil, fmt.Errorf("%s: loading namespace %s: %w", e.Source, ns.Name, err)
		}
		namespaces[ns.Name] = true
	}
	// A namespace the manifests lack is created as the API server would label it; the user is
	// told, since selectors on any other label will not select it.
	implicit := func(ns string, src manifest.Source) error {
		if namespaces[ns] {
			return nil
		}
		namespaces[ns] = true
		m.warnf("%s: namespace %s is used but the manifests lack its Namespace object: it gets only the label the API server gives every namespace, %s=%s, so namespace selectors on other labels do not select it", src, quote(ns), corev1.LabelMetadataName, quote(ns))
		return m.eng.UpsertNamespace(engine.Namespace{Name: ns})
	}
	for _, e := range set.ServiceAccounts {
		obj := e.Object.DeepCopy()
		defaultNamespaceOf(&obj.ObjectMeta)
		sa, err := engine.FromServiceAccount(obj)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Source, err)
		}
		if err := m.eng.UpsertServiceAccount(sa); err != nil {
			return nil, fmt.Errorf("%s: loading service account %s/%s: %w", e.Source, sa.Namespace, sa.Name, err)
		}
	}
	for _, e := range set.Pods {
		if err := m.addPod(e, implicit); err != nil {
			return nil, err
		}
	}
	if err := m.loadServices(set, m.podObjs); err != nil {
		return nil, err
	}
	if err := m.loadPolicies(set, implicit); err != nil {
		return nil, err
	}
	slices.SortFunc(m.pods, func(a, b *podInfo) int { return strings.Compare(a.Ref.String(), b.Ref.String()) })
	sortPorts(m.declaredPorts)
	return m, nil
}

func (m *model) addPod(e manifest.Entry[*corev1.Pod], implicit func(string, manifest.Source) error) error {
	pod := e.Object.DeepCopy()
	defaultNamespaceOf(&pod.ObjectMeta)
	// The API server gives every pod a service account: the deprecated field's, else "default".
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = pod.Spec.DeprecatedServiceAccount
		if pod.Spec.ServiceAccountName == "" {
			pod.Spec.ServiceAccountName = "default"
		}
	}
	ref := engine.EndpointRef{Namespace: pod.Namespace, Name: pod.Name}
	switch {
	case pod.Spec.HostNetwork:
		m.skip(e.Source, ref, "it uses the host's network (spec.hostNetwork: true): its traffic has the node's address and no pod policy applies to it")
		return nil
	case pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed:
		m.skip(e.Source, ref, fmt.Sprintf("it has finished (status.phase: %s): it holds no address and no policy applies to it", pod.Status.Phase))
		return nil
	case pod.Status.PodIP == "" && len(pod.Status.PodIPs) == 0:
		m.skip(e.Source, ref, "it has no IP (status.podIP is empty, as for a pod not yet scheduled): set status.podIP to place flows to or from it")
		return nil
	}
	for i, ip := range pod.Status.PodIPs {
		if _, err := netip.ParseAddr(ip.IP); err != nil {
			return &manifest.Error{File: e.Source.File, Index: e.Source.Index, Line: lineOr(m.fieldLine(e.Source, fmt.Sprintf("status.podIPs[%d].ip", i)), e.Source.Line),
				Err: fmt.Errorf("pod %s: status.podIPs[%d].ip: %s is not an IP address", refText(ref), i, quote(ip.IP))}
		}
	}
	if _, err := netip.ParseAddr(pod.Status.PodIP); pod.Status.PodIP != "" && err != nil {
		return &manifest.Error{File: e.Source.File, Index: e.Source.Index, Line: lineOr(m.fieldLine(e.Source, "status.podIP"), e.Source.Line),
			Err: fmt.Errorf("pod %s: status.podIP: %s is not an IP address", refText(ref), quote(pod.Status.PodIP))}
	}
	ep, err := engine.FromPod(pod)
	if errors.Is(err, engine.ErrNotWorkload) {
		m.skip(e.Source, ref, "no policy applies to it")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", e.Source, err)
	}
	if prev, dup := m.byRef[ref]; dup {
		return fmt.Errorf("%s: pod %s is defined twice (first at %s)", e.Source, ref, prev.Source)
	}
	for _, ip := range ep.IPs {
		if others := m.eng.EndpointsForIP(ip); len(others) > 0 {
			m.warnf("%s: pod %s has IP %s, like pod %s; flows to or from it are evaluated for all of them", e.Source, ref, ip, others[0])
		}
	}
	if err := implicit(ref.Namespace, e.Source); err != nil {
		return err
	}
	if err := m.eng.UpsertPod(ep); err != nil {
		return fmt.Errorf("%s: loading pod %s: %w", e.Source, ref, err)
	}
	m.addDeclaredPorts(pod)
	m.podObjs = append(m.podObjs, pod)
	p := &podInfo{Ref: ref, IPs: ep.IPs, Labels: pod.Labels, Source: e.Source}
	m.pods = append(m.pods, p)
	m.byRef[ref] = p
	return nil
}

// addDeclaredPorts records the pod's container ports (init containers
// included, as Calico reads named ports from both) for matrix's default
// --ports. Protocols are as Kubernetes spells them; others are ignored.
func (m *model) addDeclaredPorts(pod *corev1.Pod) {
	for _, c := range append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...) {
		for _, cp := range c.Ports {
			proto := string(cp.Protocol)
			if proto == "" {
				proto = "TCP"
			}
			if _, ok := portProtocols[proto]; !ok || cp.ContainerPort <= 0 || cp.ContainerPort > 65535 {
				continue
			}
			ps := portSpec{Port: uint16(cp.ContainerPort), Protocol: proto}
			if !slices.Contains(m.declaredPorts, ps) {
				m.declaredPorts = append(m.declaredPorts, ps)
			}
		}
	}
}

// checkKinds refuses the Calico documents that carry policy (trace would leave them out; convert
// them first) and notes every other document the model does not use.
func (m *model) checkKinds(set *manifest.Set) error {
	var errs []error
	for _, d := range set.Documents {
		switch d.Class {
		case manifest.ClassCalico:
			if strings.Contains(d.Kind, "Policy") || strings.Contains(d.Kind, "NetworkSet") {
				errs = append(errs, &manifest.Error{File: d.Source.File, Index: d.Source.Index, Line: lineOr(d.FieldLine("apiVersion"), d.Source.Line),
					Err: fmt.Errorf("%s %s %s is Calico's API and is not evaluated: convert it first (kubectl palisade convert -f %s > palisade.yaml) and pass the result", d.APIVersion, d.Kind, quote(d.Name), fileArgument(d.Source))})
				continue
			}
			m.notef("%s: %s/%s skipped: not a kind trace and matrix evaluate", d.Source, d.Kind, quote(d.Name))
		case manifest.ClassOther:
			m.notef("%s: %s/%s skipped: not a kind trace and matrix evaluate", d.Source, d.Kind, quote(d.Name))
		}
	}
	return errors.Join(errs...)
}

// skip notes a pod left out of the model, and remembers why for --from/--to.
func (m *model) skip(src manifest.Source, ref engine.EndpointRef, why string) {
	m.notef("%s: skipping pod %s: %s", src, refText(ref), why)
	if m.skipped == nil {
		m.skipped = map[engine.EndpointRef]string{}
	}
	m.skipped[ref] = why
}

// fieldLine is the line of a field of the document at src, 0 when unknown.
func (m *model) fieldLine(src manifest.Source, path string) int {
	if d := m.docs[src]; d != nil {
		return d.FieldLine(path)
	}
	return 0
}

func (m *model) notef(format string, args ...any) {
	m.notes = append(m.notes, fmt.Sprintf(format, args...))
}

func (m *model) warnf(format string, args ...any) {
	m.warnings = append(m.warnings, fmt.Sprintf(format, args...))
}

// defaultNamespaceOf puts an object without a namespace in "default".
func defaultNamespaceOf(meta *metav1.ObjectMeta) {
	if meta.Namespace == "" {
		meta.Namespace = defaultNamespace
	}
}

// resolve reads --from/--to: NAMESPACE/POD names a pod of the manifests, an
// IP address stands for itself (and for the pod holding it, if any).
func (m *model) resolve(flag, s string) (endpointArg, error) {
	if ip, err := netip.ParseAddr(s); err == nil {
		ip = ip.Unmap()
		out := endpointArg{IP: ip}
		if refs := m.eng.EndpointsForIP(ip); len(refs) > 0 {
			out.Pod = m.byRef[refs[0]]
		}
		return out, nil
	}
	ns, name, ok := strings.Cut(s, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") {
		return endpointArg{}, fmt.Errorf("--%s %q: want NAMESPACE/POD or an IP address", flag, s)
	}
	ref := engine.EndpointRef{Namespace: ns, Name: name}
	p, ok := m.byRef[ref]
	if why, skipped := m.skipped[ref]; !ok && skipped {
		return endpointArg{}, fmt.Errorf("--%s %s: pod %s is in the manifests but was skipped: %s", flag, quote(s), refText(ref), why)
	}
	if !ok {
		return endpointArg{}, fmt.Errorf("--%s %q: no pod %s/%s in the manifests (pods: %s)", flag, s, ns, name, m.podList())
	}
	return endpointArg{Pod: p}, nil
}

// podList names up to ten pods, for error messages.
func (m *model) podList() string {
	if len(m.pods) == 0 {
		return "none"
	}
	var names []string
	for i, p := range m.pods {
		if i == 10 {
			names = append(names, fmt.Sprintf("and %d more", len(m.pods)-10))
			break
		}
		names = append(names, refText(p.Ref))
	}
	return strings.Join(names, ", ")
}
