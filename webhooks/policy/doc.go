// Package policy holds Palisade's admission webhooks: defaulting and validation of
// policy.palisade.dev NetworkPolicy and GlobalNetworkPolicy, and a warn-only validating webhook on
// networking.k8s.io/v1 NetworkPolicy.
//
// The webhooks are thin adapters. Defaulting is pkg/defaulting; validation is pkg/validation, whose
// field errors become one apierrors.NewInvalid (so kubectl prints `The NetworkPolicy "x" is invalid:`
// with exact field paths) and whose soft findings become admission warnings; the cluster-aware
// findings come from pkg/clustercheck over a view of the manager's informer cache.
//
// What the webhooks must never do: call out of the process (no API request, no DNS, nothing that can
// block) — they read only the informer cache, so that they answer in milliseconds; deny a Kubernetes
// NetworkPolicy (the API server validates those; Palisade only warns); fail a request because a
// cluster finding could not be computed (findings are advice, and a cache that is not synced yet
// must not make policies unwritable); or return warnings long or numerous enough for the API server
// to truncate them.
package policy
