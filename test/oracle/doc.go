// Package oracle checks Palisade's policy engine against an independent
// implementation of Kubernetes NetworkPolicy: the matcher of
// github.com/mattfenwick/cyclonus, the netpol conformance tool built from the
// upstream e2e truth tables.
//
// It lives in its own Go module (test/oracle/go.mod, with a replace directive
// pointing at the repository root) so that cyclonus and its dependencies never
// enter the main module's go.mod: Palisade itself must not depend on its own
// test oracle.
//
// The package holds three things:
//   - a seeded random generator of whole scenarios (namespaces x, y, z; pods a,
//     b, c in each with IPs in 198.18.0.0/15 and named container ports; a few
//     external IPs; a random set of valid Kubernetes NetworkPolicies), see
//     generate.go;
//   - the cyclonus side of the comparison (cyclonus.go), which also applies the
//     upstream API-server defaulting of policyTypes that cyclonus expects to be
//     done already;
//   - YAML rendering of a scenario (scenario.go), printed on any mismatch so the
//     case can be replayed with `kubectl palisade trace -f` or turned into a
//     table test;
//   - churned loading (churn.go): half of the scenarios reach the engine in a
//     random interleaving with decoy versions and transient objects, so the
//     engine's incremental index is compared too, not only a fresh build.
//
// Where cyclonus deviates from upstream Kubernetes the comparison follows
// upstream and says so next to the workaround. The only deviation found:
// cyclonus evaluates `key NotIn [...]` as false when the key is absent,
// upstream (and Calico) as true; notin.go rewrites the policies handed to
// cyclonus into an equivalent form, with a test against apimachinery's own
// selector implementation. Everything else (named ports resolved against the
// destination pod, ipBlock matched against pod IPs as Calico does, SCTP,
// endPort, policyTypes defaulting) is compared as is.
//
// The comparison itself is oracle_test.go. Run more cases with
//
//	go test ./... -oracle.cases=20000
//	go test ./... -oracle.seed=1234 -oracle.cases=1   # replay one case
//
// This package must never be imported by the main module, and it must never
// use a random source that is not derived from the printed seed: every failure
// has to be reproducible from the seed alone.
package oracle
