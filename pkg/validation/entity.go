package validation

import (
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// side is the end of a flow an EntityRule matches.
type side int

const (
	source side = iota
	destination
)

// Limits from the CRD (R12).
const (
	maxNets        = 256
	maxPorts       = 50
	maxServiceName = 253
	// maxSANameLen: Calico sets the service-account label only for names shorter than this, so longer
	// names can never match.
	maxSANameLen = 63
)

const (
	domainsMsg        = "domains is not supported yet: the enforcer cannot match DNS names; use nets with the destination's CIDRs"
	combinedWithSvc   = "cannot be combined with services: a services match already selects the Service's endpoints"
	svcPortsMsg       = "ports and notPorts cannot be specified with destination services: the Service's own ports are matched"
	egressSourceSvc   = "services are not allowed in an egress rule's source: use destination.services"
	ingressDestSvc    = "services are not allowed in an ingress rule's destination: use source.services"
	globalSvcNSMsg    = "must specify a namespace: a GlobalNetworkPolicy has no namespace to default to"
	svcNameRequired   = "services must specify a service name"
	saNameTooLongWarn = "service-account names of 63+ characters never match (Calico does not label such pods)"
)

// entity checks one EntityRule (R5, R8 syntax, R9, R10, R12, S8-S10, domains), in field order.
func (c *checker) entity(e *v1alpha1.EntityRule, dir direction, s side, p *field.Path) {
	c.netList(e.Nets, false, p.Child("nets"))
	c.selectorField(e.Selector, p.Child("selector"), globalForbidden)
	c.selectorField(e.NamespaceSelector, p.Child("namespaceSelector"), globalAlone)
	if e.Services != nil {
		c.services(e, dir, s, p)
	}
	c.portList(e.Ports, p.Child("ports"))
	c.netList(e.NotNets, true, p.Child("notNets"))
	c.selectorField(e.NotSelector, p.Child("notSelector"), globalUnchecked)
	c.portList(e.NotPorts, p.Child("notPorts"))
	if sa := e.ServiceAccounts; sa != nil {
		c.serviceAccounts(sa, p.Child("serviceAccounts"))
	}
	if len(e.Domains) > 0 {
		c.add(field.Forbidden(p.Child("domains"), domainsMsg))
	}
}

// services checks R10 and the direction rules S8, S9, S10.
func (c *checker) services(e *v1alpha1.EntityRule, dir direction, s side, p *field.Path) {
	svc, sp := e.Services, p.Child("services")
	switch {
	case dir == egress && s == source:
		c.add(field.Forbidden(sp, egressSourceSvc))
	case dir == ingress && s == destination:
		c.add(field.Forbidden(sp, ingressDestSvc))
	}
	if svc.Name == "" {
		c.add(field.Required(sp.Child("name"), svcNameRequired))
	} else {
		c.dnsSubdomain(svc.Name, sp.Child("name"))
	}
	if svc.Namespace == "" {
		if !c.namespaced {
			c.add(field.Required(sp.Child("namespace"), globalSvcNSMsg))
		}
	} else {
		c.dnsSubdomain(svc.Namespace, sp.Child("namespace"))
	}
	if e.NamespaceSelector != "" {
		c.add(field.Forbidden(p.Child("namespaceSelector"), combinedWithSvc))
	}
	if e.ServiceAccounts != nil {
		c.add(field.Forbidden(p.Child("serviceAccounts"), combinedWithSvc))
	}
	if e.Selector != "" {
		c.add(field.Forbidden(p.Child("selector"), combinedWithSvc))
	}
	if e.NotSelector != "" {
		c.add(field.Forbidden(p.Child("notSelector"), combinedWithSvc))
	}
	if len(e.Nets) > 0 {
		c.add(field.Forbidden(p.Child("nets"), combinedWithSvc))
	}
	if len(e.NotNets) > 0 {
		c.add(field.Forbidden(p.Child("notNets"), combinedWithSvc))
	}
	if s == destination {
		if len(e.Ports) > 0 {
			c.add(field.Forbidden(p.Child("ports"), svcPortsMsg))
		}
		if len(e.NotPorts) > 0 {
			c.add(field.Forbidden(p.Child("notPorts"), svcPortsMsg))
		}
	}
}

// dnsSubdomain checks a Service name or namespace (Calico's "name" tag).
func (c *checker) dnsSubdomain(v string, p *field.Path) {
	if len(v) > maxServiceName {
		c.add(field.TooLong(p, v, maxServiceName))
		return
	}
	for _, msg := range utilvalidation.IsDNS1123Subdomain(v) {
		c.add(field.Invalid(p, v, msg))
	}
}

// serviceAccounts checks the names set and the selector.
func (c *checker) serviceAccounts(sa *v1alpha1.ServiceAccountMatch, p *field.Path) {
	seen := map[string]bool{}
	for i, n := range sa.Names {
		np := p.Child("names").Index(i)
		switch {
		case n == "":
			c.add(field.Invalid(np, n, "must be a service account name, e.g. \"api-server\""))
		case seen[n]:
			c.add(field.Duplicate(np, n))
		case len(n) >= maxSANameLen:
			c.warn(np, saNameTooLongWarn)
		}
		seen[n] = true
	}
	c.selectorField(sa.Selector, p.Child("selector"), globalUnchecked)
}
