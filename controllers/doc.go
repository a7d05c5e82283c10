// Package controllers is the rollout operator: one reconciler per policy kind (NetworkPolicy,
// GlobalNetworkPolicy), both built from one generic PolicyReconciler. A reconcile gathers the policy,
// the node reports that mention it and its revisions, asks the pure planner (pkg/rollout.Plan) what to
// do, keeps the revisions of the enforced and previous good generations as ControllerRevisions owned by
// the policy, and writes the status the planner returns in one deferred patch. It requeues at the time
// the planner names (Result.RequeueAt) and otherwise waits for a change: an edit, a control annotation,
// a node report, a revision deleted by hand. For each top would-deny flow it adds the rules that
// would allow it (pkg/suggest), reading the metadata of the pods and namespaces the flows name.
//
// It must never decide anything itself (every rollout rule lives in pkg/rollout), never write a
// policy's spec or annotations (GitOps tools would see drift), never write NodeReports (the enforcers
// own them), and never read the wall clock (the clock is injected, so tests drive time).
package controllers
