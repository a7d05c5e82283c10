package manifest

import (
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// StdinName is the Source.File of documents read from stdin ("-").
const StdinName = "<stdin>"

// Source says where an object was read from.
type Source struct {
	// File is the path as given on the command line or found by walking a directory, or StdinName.
	File string
	// Index is the 0-based index of the document in File, counting only documents that hold
	// something other than whitespace and comments.
	Index int
	// Item is the 0-based index of the object in the List document that held it, or -1 when the
	// document was not a List.
	Item int
	// Line is the 1-based line of File where the document (not the List item) starts.
	Line int
}

// String renders the source as "FILE:INDEX", the prefix of every lint line.
func (s Source) String() string { return s.File + ":" + strconv.Itoa(s.Index) }

// Class tells how a document was understood.
type Class int

const (
	// ClassSupported documents were decoded into one of the typed objects listed in the Set.
	ClassSupported Class = iota
	// ClassCalico documents belong to the projectcalico.org API group; they are kept as JSON.
	ClassCalico
	// ClassOther documents have a kind this package does not decode (Deployments, ConfigMaps...).
	ClassOther
)

// Document is one object read from a manifest, in any class. For ClassSupported documents Object
// holds the typed object (the same pointer the Set's typed slices hold); Err is set instead when
// LoadLenient could not decode it.
type Document struct {
	Source     Source
	APIVersion string
	Kind       string
	// Name and Namespace are read from metadata even when the document does not decode.
	Name      string
	Namespace string
	Class     Class
	// Object is the decoded object for ClassSupported documents, nil otherwise or on error.
	Object runtime.Object
	// JSON is the document (or List item) converted to JSON.
	JSON []byte
	// Text is the original text of the document; nil for List items, which have no text of their own.
	Text []byte
	// Err lists why a ClassSupported (or unknown Palisade) document could not be decoded.
	Err *DecodeError

	// lines finds the file line of a field; prefix leads from the document to a List item.
	lines  *lineFinder
	prefix fieldPath
}

// GroupVersionKind returns the document's group, version and kind as written.
func (d *Document) GroupVersionKind() schema.GroupVersionKind {
	gv, err := schema.ParseGroupVersion(d.APIVersion)
	if err != nil {
		return schema.GroupVersionKind{Kind: d.Kind}
	}
	return gv.WithKind(d.Kind)
}

// Entry is a typed object with its source.
type Entry[T any] struct {
	Source Source
	Object T
}

// Set holds everything read by one Load. Documents lists every object in reading order (files in
// argument order, directories in lexical order, documents and List items in file order); the typed
// slices are views of the successfully decoded ones, in the same order.
type Set struct {
	Documents []*Document
	// Problems are the documents that did not parse, when Options.KeepGoing read on past them.
	Problems []*Error
	// Notes say what was skipped on purpose (files of a directory that are not manifests).
	Notes []string

	NetworkPolicies           []Entry[*v1alpha1.NetworkPolicy]
	GlobalNetworkPolicies     []Entry[*v1alpha1.GlobalNetworkPolicy]
	KubernetesNetworkPolicies []Entry[*networkingv1.NetworkPolicy]
	Pods                      []Entry[*corev1.Pod]
	Namespaces                []Entry[*corev1.Namespace]
	ServiceAccounts           []Entry[*corev1.ServiceAccount]
	Services                  []Entry[*corev1.Service]
	EndpointSlices            []Entry[*discoveryv1.EndpointSlice]
}

// Calico returns the projectcalico.org documents in reading order.
func (s *Set) Calico() []*Document {
	var out []*Document
	for _, d := range s.Documents {
		if d.Class == ClassCalico {
			out = append(out, d)
		}
	}
	return out
}

// Err joins the decode errors of every document, nil when all decoded.
func (s *Set) Err() error {
	var errs []error
	for _, d := range s.Documents {
		if d.Err != nil {
			errs = append(errs, d.Err)
		}
	}
	return errors.Join(errs...)
}

// merge appends everything of other to s.
func (s *Set) merge(other *Set) {
	for _, d := range other.Documents {
		s.add(d)
	}
	s.Problems = append(s.Problems, other.Problems...)
	s.Notes = append(s.Notes, other.Notes...)
}

// add records a document and, when it decoded, its typed view.
func (s *Set) add(d *Document) {
	s.Documents = append(s.Documents, d)
	if d.Err != nil {
		return
	}
	switch o := d.Object.(type) {
	case *v1alpha1.NetworkPolicy:
		s.NetworkPolicies = append(s.NetworkPolicies, Entry[*v1alpha1.NetworkPolicy]{d.Source, o})
	case *v1alpha1.GlobalNetworkPolicy:
		s.GlobalNetworkPolicies = append(s.GlobalNetworkPolicies, Entry[*v1alpha1.GlobalNetworkPolicy]{d.Source, o})
	case *networkingv1.NetworkPolicy:
		s.KubernetesNetworkPolicies = append(s.KubernetesNetworkPolicies, Entry[*networkingv1.NetworkPolicy]{d.Source, o})
	case *corev1.Pod:
		s.Pods = append(s.Pods, Entry[*corev1.Pod]{d.Source, o})
	case *corev1.Namespace:
		s.Namespaces = append(s.Namespaces, Entry[*corev1.Namespace]{d.Source, o})
	case *corev1.ServiceAccount:
		s.ServiceAccounts = append(s.ServiceAccounts, Entry[*corev1.ServiceAccount]{d.Source, o})
	case *corev1.Service:
		s.Services = append(s.Services, Entry[*corev1.Service]{d.Source, o})
	case *discoveryv1.EndpointSlice:
		s.EndpointSlices = append(s.EndpointSlices, Entry[*discoveryv1.EndpointSlice]{d.Source, o})
	}
}

// Error is a fatal reading problem: a path that cannot be read or a document that cannot be parsed.
type Error struct {
	// File is the path (or StdinName).
	File string
	// Index is the document index, -1 when the problem concerns the whole path.
	Index int
	// Line is the 1-based line in File, 0 when unknown.
	Line int
	// Err is the underlying problem.
	Err error
}

func (e *Error) Error() string {
	switch {
	case e.Index < 0:
		return fmt.Sprintf("%s: %v", e.File, e.Err)
	case e.Line > 0:
		return fmt.Sprintf("%s: document %d, line %d: %v", e.File, e.Index, e.Line, e.Err)
	default:
		return fmt.Sprintf("%s: document %d: %v", e.File, e.Index, e.Err)
	}
}

func (e *Error) Unwrap() error { return e.Err }

// FieldError is one reason a document did not decode.
type FieldError struct {
	// Path is the field path in the style of k8s.io/apimachinery field.Path ("spec.ingress[0].bogus");
	// empty when the problem is the document as a whole.
	Path string
	// Line is the 1-based line of the field in the file, 0 when unknown.
	Line int
	// Message says what is wrong, without the path.
	Message string
}

// DecodeError lists why a document could not be decoded.
type DecodeError struct {
	Source Source
	Kind   string
	Fields []FieldError
}

func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("%s: decoding %s", e.Source, e.Kind)
	for i, f := range e.Fields {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		msg += sep
		if f.Path != "" {
			msg += f.Path + ": "
		}
		msg += f.Message
		if f.Line > 0 {
			msg += fmt.Sprintf(" (line %d)", f.Line)
		}
	}
	return msg
}
