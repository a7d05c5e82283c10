// Package v1alpha1 holds the policy.palisade.dev/v1alpha1 API: NetworkPolicy and GlobalNetworkPolicy.
//
// The spec types are field-for-field compatible with Calico's projectcalico.org/v3 policies, so a
// Calico manifest needs only its apiVersion changed. Palisade adds spec.rollout (how a new generation
// reaches enforcement) and a status that the rollout operator writes.
//
// Values that users write as "int or string" (ports, protocols) are stored verbatim and interpreted by
// methods on their types; a malformed value therefore reaches validation, which reports it with its
// field path, instead of failing the decoding of the whole object.
//
// This package holds types and their pure interpretation only: it must never import a client,
// validation logic with cluster knowledge, or anything that performs I/O.
//
// +kubebuilder:object:generate=true
// +groupName=policy.palisade.dev
package v1alpha1
