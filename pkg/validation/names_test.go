package validation

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	npNameDetail = `must consist of lower case alphanumeric characters or '-' with at most one '.' ` +
		`(e.g. "allow-dns" or "team.allow-dns"), or be "knp.default.<name>" ` +
		`(regex: ^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)?|(knp|ossg)\.default\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$)`
	gnpNameDetail = `must consist of lower case alphanumeric characters or '-' with at most one '.' ` +
		`(e.g. "deny-external" or "team.deny-external") (regex: ^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$)`
	subdomainDetail = `a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', ` +
		`and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is ` +
		`'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`
)

func TestMetadata(t *testing.T) {
	long := strings.Repeat("a", 254)
	runPolicyCases(t, []policyCase{
		// N2: NetworkPolicy names.
		{name: "np simple name", obj: makeNP("thing", "prod")},
		{name: "np one dot", obj: makeNP("th.ing", "prod")},
		{name: "np knp.default prefix", obj: makeNP("knp.default.a.b", "prod")},
		{name: "np ossg.default prefix", obj: makeNP("ossg.default.thing", "prod")},
		{name: "np 253 chars", obj: makeNP(strings.Repeat("a", 253), "prod")},
		{name: "np two dots", obj: makeNP("t.h.i.ng", "prod"),
			wantErrs: []wantErr{inv("metadata.name", npNameDetail)}},
		{name: "np knp without default", obj: makeNP("knp.other.thing", "prod"),
			wantErrs: []wantErr{inv("metadata.name", npNameDetail)}},
		{name: "np uppercase breaks N1 first", obj: makeNP("tHiNg", "prod"),
			wantErrs: []wantErr{inv("metadata.name", subdomainDetail)}},
		{name: "np 254 chars", obj: makeNP(long, "prod"),
			wantErrs: []wantErr{inv("metadata.name", "must be no more than 253 characters")}},
		{name: "np missing name", obj: makeNP("", "prod"),
			wantErrs: []wantErr{req("metadata.name", "name or generateName is required")}},
		{name: "np missing namespace", obj: makeNP("web", ""),
			wantErrs: []wantErr{req("metadata.namespace", "")}},
		{name: "np bad namespace", obj: makeNP("web", "Prod"),
			wantErrs: []wantErr{inv("metadata.namespace", `a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`)}},
		// N3: GlobalNetworkPolicy names.
		{name: "gnp simple name", obj: makeGNP("thing")},
		{name: "gnp one dot", obj: makeGNP("team.thing")},
		{name: "gnp knp prefix is not special", obj: makeGNP("knp.default.thing"),
			wantErrs: []wantErr{inv("metadata.name", gnpNameDetail)}},
		{name: "gnp namespace forbidden", obj: makeGNP("web", metaTweak(func(m *metav1.ObjectMeta) { m.Namespace = "prod" })),
			wantErrs: []wantErr{forb("metadata.namespace", "not allowed on this type")}},
		// N6: labels and annotations.
		{name: "good labels and annotations", obj: np(labels("app.kubernetes.io/name", "web"), annotations("example.com/Owner", "team-a"))},
		{name: "label value too long", obj: np(labels("team", strings.Repeat("x", 64))),
			wantErrs: []wantErr{inv("metadata.labels", "must be no more than 63 bytes")}},
		{name: "label key invalid", obj: np(labels("-team", "a")),
			wantErrs: []wantErr{inv("metadata.labels", `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`)}},
		{name: "annotation key ...", obj: gnp(annotations("...", "x")),
			wantErrs: []wantErr{inv("metadata.annotations", `name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`)}},
		{name: "annotations over 256KiB", obj: np(annotations("big", strings.Repeat("x", 256*1024))),
			wantErrs: []wantErr{tooLong("metadata.annotations", 256*1024)}},
	})
}
