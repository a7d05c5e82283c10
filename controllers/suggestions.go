package controllers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/suggest"
)

// The suggestions name pods by their labels and check namespace selectors against namespace labels:
// the operator reads the metadata of the pods and namespaces its top flows name, one object at a time.
//
// +kubebuilder:rbac:groups="",resources=pods;namespaces,verbs=get

// maxSuggestionNote is FlowSample.suggestionNote's MaxLength.
const maxSuggestionNote = 256

var (
	podGVK       = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}
	namespaceGVK = schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}
)

// suggestRules fills in, for each top flow, the rules that would allow it (pkg/suggest). A flow
// already shown with rules for this generation keeps them: the policy has not changed, and the pods'
// stable labels rarely do, so a reconcile reads the API only for flows it has not explained yet.
// Reading a pod may fail; the flow is then shown with a note and tried again next time, and the
// decision itself is never held back by a suggestion.
func (r *PolicyReconciler[T]) suggestRules(ctx context.Context, s *scope[T]) {
	ev := s.planned.Evidence
	if ev == nil || len(ev.TopFlows) == 0 {
		return
	}
	known := map[flowKey]v1alpha1.FlowSample{}
	if s.before.ObservedGeneration == s.policy.GetGeneration() && s.before.Evidence != nil {
		for _, f := range s.before.Evidence.TopFlows {
			if len(f.SuggestedRules) > 0 {
				known[flowKey{f.Source, f.Destination, f.Protocol, f.Port}] = f
			}
		}
	}
	// The planner's status may share the flows with the status read: copy before writing.
	flows := make([]v1alpha1.FlowSample, len(ev.TopFlows))
	copy(flows, ev.TopFlows)
	pol := r.kind.suggestPolicy(s.policy)
	lookup := &metadataLookup{reader: r.Metadata}
	for i := range flows {
		f := &flows[i]
		if k, ok := known[flowKey{f.Source, f.Destination, f.Protocol, f.Port}]; ok {
			f.SuggestedRules, f.SuggestionNote = k.SuggestedRules, k.SuggestionNote
			continue
		}
		f.SuggestedRules, f.SuggestionNote = nil, ""
		res, err := r.suggestOne(ctx, lookup, pol, f)
		if err != nil {
			log.FromContext(ctx).V(1).Info("no rule suggested", "source", f.Source, "destination", f.Destination, "reason", err.Error())
			f.SuggestionNote = truncateNote(err.Error())
			continue
		}
		f.SuggestedRules, f.SuggestionNote = res.Rules, truncateNote(res.Note)
	}
	ev.TopFlows = flows
}

func (r *PolicyReconciler[T]) suggestOne(ctx context.Context, lookup *metadataLookup, pol suggest.Policy, f *v1alpha1.FlowSample) (suggest.Result, error) {
	src, err := lookup.peer(ctx, f.Source)
	if err != nil {
		return suggest.Result{}, fmt.Errorf("source: %w", err)
	}
	dst, err := lookup.peer(ctx, f.Destination)
	if err != nil {
		return suggest.Result{}, fmt.Errorf("destination: %w", err)
	}
	res, err := suggest.For(pol, suggest.Flow{Source: src, Destination: dst, Protocol: f.Protocol, Port: f.Port}, lookup.namespaces)
	if err != nil {
		return suggest.Result{}, fmt.Errorf("suggesting a rule: %w", err)
	}
	return res, nil
}

// metadataLookup reads the metadata of the pods and namespaces of one reconcile's flows, each once.
type metadataLookup struct {
	reader     client.Reader
	pods       map[string]*suggest.Pod
	namespaces map[string]map[string]string
}

func (l *metadataLookup) peer(ctx context.Context, s string) (suggest.Peer, error) {
	ns, name, addr, err := suggest.ParsePeer(s)
	if err != nil {
		return suggest.Peer{}, fmt.Errorf("reading the flow: %w", err)
	}
	if addr.IsValid() {
		return suggest.Peer{Addr: addr}, nil
	}
	if l.reader == nil {
		return suggest.Peer{}, fmt.Errorf("pod %s: the operator cannot read pods", s)
	}
	if p, ok := l.pods[s]; ok {
		return suggest.Peer{Pod: p}, nil
	}
	var pm metav1.PartialObjectMetadata
	pm.SetGroupVersionKind(podGVK)
	if err := l.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &pm); err != nil {
		if apierrors.IsNotFound(err) {
			return suggest.Peer{}, fmt.Errorf("pod %s no longer exists", s)
		}
		return suggest.Peer{}, fmt.Errorf("reading pod %s: %w", s, err)
	}
	if err := l.namespace(ctx, ns); err != nil {
		return suggest.Peer{}, err
	}
	p := &suggest.Pod{Namespace: ns, Name: name, Labels: pm.Labels}
	if l.pods == nil {
		l.pods = map[string]*suggest.Pod{}
	}
	l.pods[s] = p
	return suggest.Peer{Pod: p}, nil
}

func (l *metadataLookup) namespace(ctx context.Context, ns string) error {
	if _, ok := l.namespaces[ns]; ok {
		return nil
	}
	var nm metav1.PartialObjectMetadata
	nm.SetGroupVersionKind(namespaceGVK)
	if err := l.reader.Get(ctx, client.ObjectKey{Name: ns}, &nm); err != nil {
		return fmt.Errorf("reading namespace %s: %w", ns, err)
	}
	if l.namespaces == nil {
		l.namespaces = map[string]map[string]string{}
	}
	l.namespaces[ns] = nm.Labels
	return nil
}

func truncateNote(s string) string {
	if len(s) > maxSuggestionNote {
		return s[:maxSuggestionNote-len("…")] + "…"
	}
	return s
}
