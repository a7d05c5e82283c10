// Package clustercheck finds the soft problems of a network policy that only show against the
// cluster as it is today: a named port no candidate pod declares, an order tie between policies that
// select the same pods, a policy that selects no pod, and an egress default-deny that leaves pods
// without DNS. Each finding is a validation.Warning with the field it is about; the admission
// webhooks return them as warnings, never as errors, because the cluster may change after the policy
// is admitted (pods come later, a DNS policy is applied next).
//
// The checks are pure functions over a Lister, a read-only view of pods, namespaces, service accounts
// and policies. The webhooks back it with the manager's informer cache; tests back it with slices.
// Selectors are evaluated with Calico's endpoint labels (docs/policy-semantics.md §1.7, §5.1, §5.2):
// a pod's own labels plus projectcalico.org/namespace, /orchestrator and /serviceaccount, with its
// namespace's labels under "pcns." and its service account's under "pcsa.". A Kubernetes
// NetworkPolicy is read in its pkg/knp translation, as Felix reads it, by the same checks as a
// Palisade policy; its findings name the fields and the label selectors of the object as written.
//
// The checks aim for no false alarms rather than for completeness: where a question can only be
// answered by evaluating flows (an earlier Deny shadowing a later Allow, a named port that might be
// 53), they assume the benign answer.
//
// This package must never import a client, perform I/O, read a clock or log: it is called on the
// admission path, which must answer in milliseconds and must not fail because of a finding.
package clustercheck
