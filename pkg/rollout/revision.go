package rollout

import (
	"strconv"

	"k8s.io/apimachinery/pkg/types"
)

// The revision contract. The operator keeps the spec of the enforced generation (and of the previous
// good one, which a step back enforces again) in ControllerRevision objects owned by the policy, so
// every enforcer can program a generation that is no longer the policy's spec. An enforcer finds a
// revision by these labels, never by name:
//   - LabelPolicyUID: the policy's metadata.uid (a policy deleted and created again under the same
//     name is another policy, and a UID fits a label value where a 253-character name does not);
//   - LabelGeneration: the generation whose spec the revision holds, in decimal; the
//     ControllerRevision's .revision field holds the same number.
//
// A NetworkPolicy's revisions live in its namespace; a GlobalNetworkPolicy's in the operator's
// namespace (a namespaced object may be owned by a cluster-scoped one). .data holds the policy's spec
// as JSON, exactly as stored.
const (
	LabelPolicyUID  = "policy.palisade.dev/policy-uid"
	LabelGeneration = "policy.palisade.dev/generation"
)

// RevisionLabels are the labels of the revision holding generation gen of the policy with uid.
func RevisionLabels(uid types.UID, gen int64) map[string]string {
	return map[string]string{LabelPolicyUID: string(uid), LabelGeneration: strconv.FormatInt(gen, 10)}
}
