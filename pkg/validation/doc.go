// Package validation decides whether a policy object may be stored: it returns hard errors
// (field.ErrorList, with exact field paths such as spec.ingress[0].destination.ports[1]) and soft
// warnings for risky but legal objects.
//
// It covers Palisade's NetworkPolicy and GlobalNetworkPolicy (the Calico v3 checklist of
// docs/semantics.md section 3.1: N1-N3, N6, S1-S10, R1-R12, plus the rollout spec) and the
// Kubernetes networking.k8s.io/v1 NetworkPolicy (upstream rules, re-implemented so that Palisade never
// imports k8s.io/kubernetes).
//
// Where Palisade deliberately differs from Calico (docs/semantics.md §0):
//   - Any rule with http is rejected: the iptables dataplane cannot enforce L7 criteria, and ignoring
//     them would silently widen an Allow. This subsumes Calico's http checks (R11, S8 for http, the
//     http length limits of R12): a rule carrying http gets that one error and no finer ones.
//   - Any domains is rejected until the enforcer implements DNS-learned IP sets.
//   - tier must be empty or "default" until tiers land.
//   - order must be a finite number (Calico accepts NaN and infinities from Go callers; they break
//     ordering). JSON cannot carry them, so only programmatic callers notice.
//   - Rule CIDRs are parsed with net/netip: leading zeros ("10.0.0.0/08") and IPv4-mapped IPv6
//     prefixes are rejected, where Calico's parser tolerates some of them.
//
// Errors say what is wrong and what is allowed. Warnings are short because the API server truncates
// long admission warnings.
//
// This package is a pure core: it must never import a client, perform I/O, read the clock or log, and
// it must never panic, whatever the input (it is fuzzed with arbitrary YAML). It never mutates its
// input; defaulting lives in pkg/defaulting.
package validation
