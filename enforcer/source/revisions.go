package source

import (
	"cmp"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"

	"github.com/palisade-dev/palisade/pkg/rollout"
)

// revision is what the source keeps of one ControllerRevision of a Palisade policy.
type revision struct {
	namespace, name string
	generation      int64
	// owner is the UID of the revision's controller owner ("" when it has none).
	owner types.UID
	data  []byte
}

// revisionSelector selects Palisade's revisions: the ControllerRevisions carrying the policy-UID
// label (every StatefulSet and DaemonSet keeps its history in ControllerRevisions too; those are never
// listed).
func revisionSelector() string {
	req, err := labels.NewRequirement(rollout.LabelPolicyUID, selection.Exists, nil)
	if err != nil {
		panic(err) // a constant label key: cannot fail
	}
	return labels.NewSelector().Add(*req).String()
}

// revisionOf reads a ControllerRevision; false when it is not a usable Palisade revision (no UID
// label, a generation label that disagrees with .revision, no data).
func revisionOf(cr *appsv1.ControllerRevision) (types.UID, revision, bool) {
	uid := types.UID(cr.Labels[rollout.LabelPolicyUID])
	if uid == "" || cr.Revision <= 0 || len(cr.Data.Raw) == 0 {
		return "", revision{}, false
	}
	if g, ok := cr.Labels[rollout.LabelGeneration]; ok && g != strconv.FormatInt(cr.Revision, 10) {
		return "", revision{}, false
	}
	rev := revision{namespace: cr.Namespace, name: cr.Name, generation: cr.Revision, data: cr.Data.Raw}
	if ref := metav1.GetControllerOf(cr); ref != nil {
		rev.owner = ref.UID
	}
	return uid, rev, true
}

// revisionFor finds the spec of generation gen of a policy: a revision labelled with its UID and the
// generation, controlled by the policy, in the namespace its kind keeps revisions in. The
// controller reference is required so that a revision written by someone else, who can only label,
// cannot replace a policy's enforced spec. Called with s.mu held.
func (s *Source) revisionFor(r *policyRecord, gen int64) ([]byte, bool) {
	var found *revision
	for _, rev := range s.revisions[r.uid] {
		if rev.generation != gen || rev.owner != r.uid || (r.revisionNS != "" && rev.namespace != r.revisionNS) {
			continue
		}
		if found == nil || cmp.Compare(rev.namespace+"/"+rev.name, found.namespace+"/"+found.name) < 0 {
			found = &rev
		}
	}
	if found == nil {
		return nil, false
	}
	return found.data, true
}

// upsertRevision stores a revision and reprograms its policy (and the policy it belonged to, if its
// UID label changed).
func (s *Source) upsertRevision(cr *appsv1.ControllerRevision) {
	uid, rev, ok := revisionOf(cr)
	id := cr.Namespace + "/" + cr.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, had := s.revUID[id]; had && (!ok || old != uid) {
		s.dropRevision(id)
	}
	if !ok {
		return
	}
	if s.revisions[uid] == nil {
		s.revisions[uid] = map[string]revision{}
	}
	s.revisions[uid][id] = rev
	s.revUID[id] = uid
	s.reprogramUID(uid)
}

// deleteRevision forgets a revision and reprograms its policy (which keeps its enforced generation:
// see program).
func (s *Source) deleteRevision(cr *appsv1.ControllerRevision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropRevision(cr.Namespace + "/" + cr.Name)
}

// dropRevision removes the revision namespace/name from the index and reprograms the policy it
// belonged to. Called with s.mu held.
func (s *Source) dropRevision(id string) {
	uid, ok := s.revUID[id]
	if !ok {
		return
	}
	delete(s.revUID, id)
	delete(s.revisions[uid], id)
	if len(s.revisions[uid]) == 0 {
		delete(s.revisions, uid)
	}
	s.reprogramUID(uid)
}

func (s *Source) reprogramUID(uid types.UID) {
	if key, ok := s.byUID[uid]; ok {
		s.program(s.records[key])
	}
}
