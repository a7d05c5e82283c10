package validation

import (
	"regexp"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Name patterns of Calico's validator (networkPolicyNameRegex, globalNetworkPolicyNameRegex). A
// policy name is a DNS label with at most one dot; the knp./ossg. forms exist because Calico stores
// converted Kubernetes policies under those names, and manifests exported from such clusters carry them.
const (
	labelFmt     = `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
	subdomainFmt = labelFmt + `(\.` + labelFmt + `)*`
	npNameFmt    = `^(` + labelFmt + `(\.` + labelFmt + `)?|(knp|ossg)\.default\.` + subdomainFmt + `)$`
	gnpNameFmt   = `^(` + labelFmt + `\.)?` + labelFmt + `$`
)

var (
	npNameRE  = regexp.MustCompile(npNameFmt)
	gnpNameRE = regexp.MustCompile(gnpNameFmt)
)

const (
	npNameMsg = `must consist of lower case alphanumeric characters or '-' with at most one '.' ` +
		`(e.g. "allow-dns" or "team.allow-dns"), or be "knp.default.<name>" (regex: ` + npNameFmt + `)`
	gnpNameMsg = `must consist of lower case alphanumeric characters or '-' with at most one '.' ` +
		`(e.g. "deny-external" or "team.deny-external") (regex: ` + gnpNameFmt + `)`
)

// policyNameFunc checks N1 (DNS subdomain, at most 253 characters) and then the kind's own pattern
// (N2 or N3), so that a name breaking both gets the Kubernetes message only.
func policyNameFunc(re *regexp.Regexp, msg string) apivalidation.ValidateNameFuncWithErrors {
	return func(p *field.Path, name string) field.ErrorList {
		var errs field.ErrorList
		for _, m := range utilvalidation.IsDNS1123Subdomain(name) {
			errs = append(errs, field.Invalid(p, name, m))
		}
		if len(errs) == 0 && !re.MatchString(name) {
			errs = append(errs, field.Invalid(p, name, msg))
		}
		return errs
	}
}

// validateMeta checks names (N1-N3), namespace, labels and annotations (N6) with the apimachinery
// rules the API server applies, so that offline callers (the CLI) reject what the server would.
func validateMeta(meta *metav1.ObjectMeta, namespaced bool, nameFn apivalidation.ValidateNameFuncWithErrors) field.ErrorList {
	return apivalidation.ValidateObjectMetaWithOpts(meta, namespaced, nameFn, field.NewPath("metadata"))
}
