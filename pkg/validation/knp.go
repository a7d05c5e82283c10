package validation

import (
	"errors"
	"net/netip"

	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

var (
	knpProtocols   = []string{"TCP", "UDP", "SCTP"}
	knpPolicyTypes = []string{string(networkingv1.PolicyTypeIngress), string(networkingv1.PolicyTypeEgress)}
)

// ValidateKubernetesNetworkPolicy validates a networking.k8s.io/v1 NetworkPolicy with the upstream rules
// (k8s.io/kubernetes pkg/apis/networking/validation, re-implemented: same field paths and error types,
// messages extended with what is allowed), strict CIDR validation as upstream has it by default since
// 1.36, plus warnings for the policyTypes traps of docs/semantics.md section 7.3.
func ValidateKubernetesNetworkPolicy(p *networkingv1.NetworkPolicy) (field.ErrorList, []Warning) {
	if p == nil {
		return field.ErrorList{field.InternalError(nil, errors.New("no NetworkPolicy given"))}, nil
	}
	c := &checker{namespaced: true}
	c.add(apivalidation.ValidateObjectMeta(&p.ObjectMeta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	sp := field.NewPath("spec")
	spec := &p.Spec
	c.add(metav1validation.ValidateLabelSelector(&spec.PodSelector, metav1validation.LabelSelectorValidationOptions{}, sp.Child("podSelector"))...)
	for i := range spec.Ingress {
		rp := sp.Child("ingress").Index(i)
		c.knpPorts(spec.Ingress[i].Ports, rp.Child("ports"))
		for j := range spec.Ingress[i].From {
			c.knpPeer(&spec.Ingress[i].From[j], rp.Child("from").Index(j))
		}
	}
	for i := range spec.Egress {
		rp := sp.Child("egress").Index(i)
		c.knpPorts(spec.Egress[i].Ports, rp.Child("ports"))
		for j := range spec.Egress[i].To {
			c.knpPeer(&spec.Egress[i].To[j], rp.Child("to").Index(j))
		}
	}
	c.knpPolicyTypes(spec, sp)
	return c.errs, c.warns
}

func (c *checker) knpPorts(ports []networkingv1.NetworkPolicyPort, p *field.Path) {
	for i := range ports {
		c.knpPort(&ports[i], p.Index(i))
	}
}

// knpPort checks protocol, port and endPort like upstream ValidateNetworkPolicyPort.
func (c *checker) knpPort(port *networkingv1.NetworkPolicyPort, p *field.Path) {
	if port.Protocol != nil {
		switch *port.Protocol {
		case "TCP", "UDP", "SCTP":
		default:
			c.add(field.NotSupported(p.Child("protocol"), *port.Protocol, knpProtocols))
		}
	}
	if port.Port == nil {
		if port.EndPort != nil {
			c.add(field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is not specified: set port to the start of the range"))
		}
		return
	}
	if port.Port.Type == intstr.Int {
		for _, msg := range utilvalidation.IsValidPortNum(int(port.Port.IntVal)) {
			c.add(field.Invalid(p.Child("port"), port.Port.IntVal, "port number "+msg))
		}
		if port.EndPort != nil {
			if *port.EndPort < port.Port.IntVal {
				c.add(field.Invalid(p.Child("endPort"), *port.EndPort, "must be greater than or equal to `port`"))
			}
			for _, msg := range utilvalidation.IsValidPortNum(int(*port.EndPort)) {
				c.add(field.Invalid(p.Child("endPort"), *port.EndPort, "port number "+msg))
			}
		}
		return
	}
	if port.EndPort != nil {
		c.add(field.Invalid(p.Child("endPort"), *port.EndPort, "may not be specified when `port` is non-numeric: use a port number with endPort"))
	}
	for _, msg := range utilvalidation.IsValidPortName(port.Port.StrVal) {
		c.add(field.Invalid(p.Child("port"), port.Port.StrVal, "port name "+msg))
	}
}

// knpPeer checks one from/to entry like upstream ValidateNetworkPolicyPeer.
func (c *checker) knpPeer(peer *networkingv1.NetworkPolicyPeer, p *field.Path) {
	n := 0
	if peer.PodSelector != nil {
		n++
		c.add(metav1validation.ValidateLabelSelector(peer.PodSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("podSelector"))...)
	}
	if peer.NamespaceSelector != nil {
		n++
		c.add(metav1validation.ValidateLabelSelector(peer.NamespaceSelector, metav1validation.LabelSelectorValidationOptions{}, p.Child("namespaceSelector"))...)
	}
	if peer.IPBlock != nil {
		n++
		c.ipBlock(peer.IPBlock, p.Child("ipBlock"))
	}
	switch {
	case n == 0:
		c.add(field.Required(p, "must specify a peer: set podSelector, namespaceSelector or ipBlock"))
	case n > 1 && peer.IPBlock != nil:
		c.add(field.Forbidden(p, "may not specify both ipBlock and another peer: use separate peers"))
	}
}

// ipBlock checks cidr and that every except is a strict subset of it, like upstream ValidateIPBlock
// with StrictIPCIDRValidation.
func (c *checker) ipBlock(b *networkingv1.IPBlock, p *field.Path) {
	if b.CIDR == "" {
		c.add(field.Required(p.Child("cidr"), "must be a CIDR such as 10.0.0.0/8"))
		return
	}
	errs := utilvalidation.IsValidCIDRForLegacyField(p.Child("cidr"), b.CIDR, true, nil)
	c.add(errs...)
	// Strict validation accepts only what netip parses; the second parse cannot fail after it.
	outer, err := netip.ParsePrefix(b.CIDR)
	if len(errs) > 0 || err != nil {
		return
	}
	for i, ex := range b.Except {
		ep := p.Child("except").Index(i)
		exErrs := utilvalidation.IsValidCIDRForLegacyField(ep, ex, true, nil)
		c.add(exErrs...)
		inner, err := netip.ParsePrefix(ex)
		if len(exErrs) > 0 || err != nil {
			continue
		}
		if inner.Addr().BitLen() != outer.Addr().BitLen() || inner.Bits() <= outer.Bits() || !outer.Contains(inner.Addr()) {
			c.add(field.Invalid(ep, ex, "must be a strict subset of `cidr` ("+b.CIDR+")"))
		}
	}
}

// knpPolicyTypes checks policyTypes and warns about rules of a direction the policy does not govern.
// An empty policyTypes is not warned about: the API server defaults it to Ingress plus Egress when
// egress rules exist.
func (c *checker) knpPolicyTypes(spec *networkingv1.NetworkPolicySpec, sp *field.Path) {
	tp := sp.Child("policyTypes")
	if len(spec.PolicyTypes) > len(knpPolicyTypes) {
		c.add(field.Invalid(tp, spec.PolicyTypes, "may not specify more than two policyTypes: use Ingress, Egress or both"))
		return
	}
	governed := map[networkingv1.PolicyType]bool{}
	for i, t := range spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress:
			governed[t] = true
		default:
			c.add(field.NotSupported(tp.Index(i), t, knpPolicyTypes))
		}
	}
	if len(spec.PolicyTypes) == 0 {
		return
	}
	if len(spec.Egress) > 0 && !governed[networkingv1.PolicyTypeEgress] {
		c.warn(tp, "does not include Egress: the egress rules are ignored")
	}
	if len(spec.Ingress) > 0 && !governed[networkingv1.PolicyTypeIngress] {
		c.warn(tp, "does not include Ingress: the ingress rules are ignored")
	}
}
