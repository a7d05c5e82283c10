package validation

import (
	"k8s.io/apimachinery/pkg/util/intstr"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

const portChoices = "ports are a number 1-65535, a range \"min:max\" with min <= max, or a port name such as \"http\""

// portList checks a ports or notPorts list: its length (R12) and each entry (R5).
func (c *checker) portList(ports []v1alpha1.Port, p *field.Path) {
	if len(ports) > maxPorts {
		c.add(field.TooMany(p, len(ports), maxPorts))
	}
	for i, port := range ports {
		c.add(validatePort(port, p.Index(i))...)
	}
}

// validatePort checks one port as written: it must parse, numbers must be 1-65535 (port 0 parses, as in
// Calico, but never matches anything useful) and names must follow the IANA service-name rule that
// Kubernetes applies to container port names, or they could never match one.
func validatePort(port v1alpha1.Port, p *field.Path) field.ErrorList {
	value := portValue(port)
	r, err := port.Parse()
	if err != nil {
		return field.ErrorList{field.Invalid(p, value, err.Error()+": "+portChoices)}
	}
	if r.IsNamed() {
		var errs field.ErrorList
		for _, msg := range utilvalidation.IsValidPortName(r.Name) {
			errs = append(errs, field.Invalid(p, value, "port name "+msg))
		}
		return errs
	}
	if r.Min == 0 {
		return field.ErrorList{field.Invalid(p, value, "port 0 is invalid: "+portChoices)}
	}
	return nil
}

// portValue is the port as written, for error messages: a number stays a number.
func portValue(port v1alpha1.Port) any {
	if port.Type == intstr.Int {
		return port.IntVal
	}
	return port.StrVal
}
