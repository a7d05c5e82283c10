// Package cli implements kubectl-palisade, the command-line tool that runs as "kubectl palisade".
//
// Each command lives in its own file and is built by a constructor taking IOStreams, so that tests
// run the whole command in-process with buffers and the binary is only wiring
// (cmd/kubectl-palisade). Commands are registered in one list in root.go.
//
// Exit codes are part of the interface, because scripts and CI gate on them: commands return an
// *ExitError carrying the code after writing their own output, and HandleError maps any other
// error (bad flags, unexpected failures) to 2 after printing it. For lint: 0 valid (warnings
// allowed), 1 invalid, 2 input unreadable or unparsable. For trace: 0 allowed, 1 denied, 2 input
// errors (unknown pod, bad --port, an object that could carry policy but cannot be read or
// stored: a verdict without it could allow what it denies).
//
// trace and matrix evaluate what the cluster would hold, so they apply what the API server and
// admission would first: kubectl's namespace (-n), the default service account, admission's
// defaulting and validation (a refused policy is reported and evaluated as absent), Services
// resolved to endpoints, the label of a namespace the manifests lack. Duplicates that differ are
// refused, since which one wins would depend on the order of -f. Every value from the manifests
// is quoted or escaped in text output (quote.go), so a name cannot forge a line.
//
// Commands:
//   - lint: default then validate Palisade policies, validate Kubernetes NetworkPolicies, point
//     Calico documents at convert.
//   - convert: Calico projectcalico.org/v3 policies (staged kinds included) to Palisade, all or nothing.
//   - trace: why one flow is allowed or denied, egress and ingress, with every policy visited.
//   - matrix: pod-to-pod connectivity on each port, streamed as tables, JSON or YAML.
//   - status, watch, promote, pause, resume, rollback: a policy's rollout in a cluster (kubectl's
//     kubeconfig flags, k8s.io/cli-runtime). The controls only set the annotation the operator
//     honours (pkg/rollout.Annotation*); they never write spec or status. Progress toward the next
//     phase is computed from the status and the rollout settings with the clock given in
//     ClusterDeps. Exit codes: 0 done, 1 a --wait or watch that did not finish (timeout, deleted),
//     2 the cluster or the policy could not be read.
//   - version, completion: as kubectl plugins have them.
//
// This package parses flags, reads the paths it is given and formats results. It must never hold
// policy logic of its own: loading is pkg/manifest, defaulting pkg/defaulting, validation
// pkg/validation, conversion pkg/convert, verdicts pkg/engine. The offline commands (lint, convert,
// and trace and matrix over files) must never contact a cluster.
package cli
