// Package clustercheck finds the soft problems of a network policy that only show against the
// cluster as it is today: a named port no candidate pod declares, an order tie between policies that
// select the same pods, a policy that selects no pod, and an egress default-deny that leaves pods
// without DNS. Each finding is a validation.Warning with the field it is about; the admission
// webhooks return them as warnings, never as errors, because the cluster may change after the policy
// is admitted (pods come later, a DNS policy is applied next).
//
// The checks are pure functions over a Lister, a read-only view of pods, namespaces, service accounts
// and policies in the engine's model (engine.FromPod and its siblings convert them). The webhooks
// back it with the manager's informer cache; tests back it with slices. Who a policy selects, which
// pods a named port resolves against and which of two policies applies first are the engine's
// answers, not a second implementation of them: pods are seen through engine.PodView (Calico's
// endpoint labels and pcns./pcsa. inheritance, docs/semantics.md §1.7), selections are
// compiled by the engine (engine.Selection, §5.1-§5.3) and policies ordered by engine.Position
// (§5.5). A Kubernetes NetworkPolicy is read in its pkg/knp translation, as the engine reads it, by
// the same checks as a Palisade policy; its findings name the fields and the label selectors of the
// object as written.
//
// Every check is bounded: it charges its work in units (a pod seen or tested, a stored policy read)
// to Checker.MaxWork and looks at its context as it goes, and when either runs out it returns the
// findings of the checks that finished with a *CutShortError. The members of a selection and the
// named ports they declare are computed once per check, so rules sharing a selector share the work.
//
// The checks aim for no false alarms rather than for completeness: where a question can only be
// answered by evaluating flows (an earlier Deny shadowing a later Allow, a named port that might be
// 53), they assume the benign answer.
//
// This package must never import a client, perform I/O, read a clock or log: it is called on the
// admission path, which must answer in milliseconds and must not fail because of a finding, and its
// deadline is the caller's context.
package clustercheck
