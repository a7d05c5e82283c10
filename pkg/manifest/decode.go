package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// errInvalidYAML marks a document the YAML parser refuses.
var errInvalidYAML = errors.New("invalid YAML")

// errNotKubernetes marks a document that is not a Kubernetes object at all (no apiVersion and no
// kind, or not a mapping): a file of a walked directory that starts so is skipped.
var errNotKubernetes = errors.New("not a Kubernetes object")

// notKubernetesError is a message that errors.Is errNotKubernetes.
type notKubernetesError string

func (e notKubernetesError) Error() string        { return string(e) }
func (e notKubernetesError) Is(target error) bool { return target == errNotKubernetes }

func notKubernetes(msg string) error { return notKubernetesError(msg) }

// CalicoGroup is the API group of Calico's resources.
const CalicoGroup = "projectcalico.org"

// decoders maps the kinds this package decodes to a constructor of their typed object.
var decoders = map[schema.GroupVersionKind]func() runtime.Object{
	v1alpha1.GroupVersion.WithKind("NetworkPolicy"):       func() runtime.Object { return &v1alpha1.NetworkPolicy{} },
	v1alpha1.GroupVersion.WithKind("GlobalNetworkPolicy"): func() runtime.Object { return &v1alpha1.GlobalNetworkPolicy{} },
	networkingv1.SchemeGroupVersion.WithKind("NetworkPolicy"): func() runtime.Object {
		return &networkingv1.NetworkPolicy{}
	},
	corev1.SchemeGroupVersion.WithKind("Pod"):            func() runtime.Object { return &corev1.Pod{} },
	corev1.SchemeGroupVersion.WithKind("Namespace"):      func() runtime.Object { return &corev1.Namespace{} },
	corev1.SchemeGroupVersion.WithKind("ServiceAccount"): func() runtime.Object { return &corev1.ServiceAccount{} },
	corev1.SchemeGroupVersion.WithKind("Service"):        func() runtime.Object { return &corev1.Service{} },
	discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"): func() runtime.Object {
		return &discoveryv1.EndpointSlice{}
	},
}

// parseFile splits one file into documents and adds every object it holds to the set. It stops at
// the first fatal problem (see Error), unless keepGoing: then a document that does not parse is
// recorded in set.Problems and the next one is read.
func parseFile(file string, data []byte, set *Set, keepGoing bool) error {
	text, err := decodeText(data)
	if err != nil {
		return &Error{File: file, Index: -1, Err: err}
	}
	index := 0
	for _, c := range splitDocuments(text) {
		docs, err := splitJSONStream(c)
		var (
			jerr    *jsonStreamError
			notJSON *notJSONError
		)
		errors.As(err, &notJSON)
		switch {
		case errors.As(err, &jerr):
			e := &Error{File: file, Index: index + jerr.read, Line: jerr.line, Err: jerr}
			if !keepGoing {
				return e
			}
			set.Problems = append(set.Problems, e)
			index += jerr.read + 1
			continue
		case err != nil:
			docs = []chunk{c} // YAML
		}
		for _, d := range docs {
			if err := parseDocument(file, index, d, set); err != nil {
				if notJSON != nil && errors.Is(err, errInvalidYAML) {
					err = &Error{File: file, Index: index, Line: notJSON.line, Err: notJSON}
				}
				var e *Error
				if !keepGoing || !errors.As(err, &e) {
					return err
				}
				set.Problems = append(set.Problems, e)
			}
			index++
		}
	}
	return nil
}

func parseDocument(file string, index int, c chunk, set *Set) error {
	fatal := func(line int, err error) error {
		return &Error{File: file, Index: index, Line: line, Err: err}
	}
	j, err := yaml.YAMLToJSONStrict(c.text)
	if err != nil {
		msg, line := yamlSyntaxError(err, c.text, c.firstLine)
		return fatal(line, fmt.Errorf("%w: %s", errInvalidYAML, msg))
	}
	var generic any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(j, &generic); err != nil {
		return fatal(c.firstLine, fmt.Errorf("invalid YAML: %w", err))
	}
	if generic == nil {
		// "null" or "~" alone: an empty document in all but name.
		return nil
	}
	obj, ok := generic.(map[string]any)
	if !ok {
		return fatal(c.firstLine, notKubernetes("document is not an object: "+mismatch("an object", generic)))
	}
	lines := &lineFinder{text: c.text, firstLine: c.firstLine}
	src := Source{File: file, Index: index, Item: -1, Line: c.firstLine}
	apiVersion, kind, err := typeOf(obj, "", "")
	if err != nil {
		return fatal(c.firstLine, err)
	}

	if items, isList := listItems(obj, kind); isList {
		list, ok := items.([]any)
		if !ok && items != nil {
			return fatal(lines.line(fieldPath{{key: "items"}}), fmt.Errorf("%s: items: %s", kind, mismatch("a list", items)))
		}
		// Items of typed lists (PodList) may omit their type; it is the list's without "List".
		itemKind := ""
		if kind != "List" {
			itemKind = strings.TrimSuffix(kind, "List")
		}
		for i, it := range list {
			prefix := fieldPath{{key: "items"}, {index: i, isIndex: true}}
			itemObj, ok := it.(map[string]any)
			if !ok {
				return fatal(lines.line(prefix), fmt.Errorf("items[%d]: %s", i, mismatch("an object", it)))
			}
			av, k, err := typeOf(itemObj, apiVersion, itemKind)
			if err != nil {
				return fatal(lines.line(prefix), fmt.Errorf("items[%d]: %w", i, err))
			}
			if _, nested := listItems(itemObj, k); nested {
				return fatal(lines.line(prefix), fmt.Errorf("items[%d]: a %s inside a %s is not read by kubectl; write its items in the outer list", i, k, kind))
			}
			if err := notUnderstood(schema.FromAPIVersionAndKind(av, k)); err != nil {
				return fatal(lines.line(prefix.child("kind")), fmt.Errorf("items[%d]: %w", i, err))
			}
			// Write the inherited type into the item, so that its JSON stands on its own.
			itemObj["apiVersion"], itemObj["kind"] = av, k
			itemJSON, err := json.Marshal(itemObj)
			if err != nil {
				return fatal(lines.line(prefix), fmt.Errorf("items[%d]: %w", i, err))
			}
			itemSrc := src
			itemSrc.Item = i
			set.add(decodeObject(itemSrc, av, k, itemObj, itemJSON, nil, lines, prefix))
		}
		return nil
	}
	if err := notUnderstood(schema.FromAPIVersionAndKind(apiVersion, kind)); err != nil {
		return fatal(lineOr(lines.line(fieldPath{{key: "kind"}}), c.firstLine), err)
	}
	set.add(decodeObject(src, apiVersion, kind, obj, j, documentText(c.text), lines, nil))
	return nil
}

// documentText is the text of a document as the user wrote it, without the blanked "---" line that
// splitDocuments leaves at its start.
func documentText(t []byte) []byte {
	if i := bytes.IndexByte(t, '\n'); i >= 0 && len(bytes.TrimSpace(t[:i])) == 0 {
		return t[i+1:]
	}
	return t
}

// typeOf reads apiVersion and kind, falling back to the given defaults (a List's item type).
func typeOf(obj map[string]any, defaultAPIVersion, defaultKind string) (apiVersion, kind string, err error) {
	apiVersion, err = stringField(obj, "apiVersion", defaultAPIVersion)
	if err != nil {
		return "", "", err
	}
	kind, err = stringField(obj, "kind", defaultKind)
	if err != nil {
		return "", "", err
	}
	if apiVersion == "" {
		if kind == "" {
			return "", "", notKubernetes("missing apiVersion and kind: every document needs apiVersion and kind")
		}
		return "", "", errors.New("missing apiVersion: every document needs apiVersion and kind")
	}
	if kind == "" {
		return "", "", errors.New("missing kind: every document needs apiVersion and kind")
	}
	if _, err := schema.ParseGroupVersion(apiVersion); err != nil {
		return "", "", fmt.Errorf("apiVersion %q is not GROUP/VERSION or VERSION", apiVersion)
	}
	return apiVersion, kind, nil
}

func stringField(obj map[string]any, key, def string) (string, error) {
	v, ok := obj[key]
	if !ok || v == nil {
		return def, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%s: %s", key, mismatch("a string", v))
	}
	return s, nil
}

// listItems reports whether obj is a List to expand, and its items value.
func listItems(obj map[string]any, kind string) (any, bool) {
	if !strings.HasSuffix(kind, "List") {
		return nil, false
	}
	items, ok := obj["items"]
	if !ok && kind != "List" {
		return nil, false
	}
	return items, true
}

// decodeObject classifies one object and decodes it when its kind is supported.
func decodeObject(src Source, apiVersion, kind string, obj map[string]any, j, text []byte, lines *lineFinder, prefix fieldPath) *Document {
	d := &Document{Source: src, APIVersion: apiVersion, Kind: kind, JSON: j, Text: text, lines: lines, prefix: prefix}
	if meta, ok := obj["metadata"].(map[string]any); ok {
		d.Name, _ = meta["name"].(string)
		d.Namespace, _ = meta["namespace"].(string)
	}
	gvk := d.GroupVersionKind()
	newObject, supported := decoders[gvk]
	switch {
	case supported:
		d.Class = ClassSupported
	case gvk.Group == CalicoGroup || strings.HasSuffix(gvk.Group, "."+CalicoGroup):
		d.Class = ClassCalico
		return d
	case gvk.Group == v1alpha1.GroupVersion.Group:
		// Our own group must never be "something else": a misspelt kind or an unknown version
		// would otherwise be silently ignored by lint and by the engine.
		d.Class = ClassSupported
		d.Err = &DecodeError{Source: src, Kind: kind, Fields: []FieldError{unknownPalisadeType(gvk, lines, prefix)}}
		return d
	default:
		d.Class = ClassOther
		return d
	}

	typed := newObject()
	if d.Err = d.DecodeInto(typed); d.Err == nil {
		d.Object = typed
	}
	return d
}

// DecodeInto decodes the document strictly into v, a pointer to a Go API type: an unknown field or a
// value of the wrong type fails the decoding, and each problem is reported with its field path and
// file line. Supported kinds are decoded this way by the loaders; convert uses it for Calico kinds.
func (d *Document) DecodeInto(v any) *DecodeError {
	var generic any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(d.JSON, &generic); err != nil {
		return &DecodeError{Source: d.Source, Kind: d.Kind, Fields: []FieldError{{Message: err.Error()}}}
	}
	var probs []problem
	checkValue(generic, reflect.TypeOf(v), nil, &probs)
	if len(probs) == 0 {
		if err := kjson.UnmarshalCaseSensitivePreserveInts(d.JSON, v); err != nil {
			// checkValue mirrors encoding/json; should they ever disagree, still fail, unlocated.
			probs = append(probs, problem{nil, err.Error()})
		}
	}
	if len(probs) == 0 {
		return nil
	}
	return &DecodeError{Source: d.Source, Kind: d.Kind, Fields: locate(probs, d.lines, d.prefix)}
}

// FieldLine returns the file line of a field of the document, named by a path in the style of
// k8s.io/apimachinery's field.Path ("spec.ingress[0].ports[1]", "metadata.labels[app]"), or 0 when
// it cannot be found. Later stages (validation, convert) use it to point at the line they reject.
func (d *Document) FieldLine(path string) int {
	if d.lines == nil {
		return 0
	}
	p, ok := parseFieldPath(path)
	if !ok {
		return 0
	}
	return d.lines.line(append(append(fieldPath{}, d.prefix...), p...))
}

// parseFieldPath reads a field.Path string. "[x]" is kept as a bracketed segment whose meaning
// (list index or map key) the line finder decides from the node it meets.
func parseFieldPath(s string) (fieldPath, bool) {
	var p fieldPath
	for len(s) > 0 {
		switch s[0] {
		case '.':
			s = s[1:]
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return nil, false
			}
			inner := s[1:end]
			if n, err := strconv.Atoi(inner); err == nil && n >= 0 {
				p = append(p, segment{key: inner, index: n, isIndex: true, mapKey: true})
			} else {
				p = p.mapEntry(inner)
			}
			s = s[end+1:]
		default:
			end := strings.IndexAny(s, ".[")
			if end < 0 {
				end = len(s)
			}
			p = p.child(s[:end])
			s = s[end:]
		}
	}
	return p, true
}

func unknownPalisadeType(gvk schema.GroupVersionKind, lines *lineFinder, prefix fieldPath) FieldError {
	if gvk.Version != v1alpha1.GroupVersion.Version {
		return FieldError{
			Path:    "apiVersion",
			Line:    lines.line(prefix.child("apiVersion")),
			Message: fmt.Sprintf("unknown version %q of %s; the served version is %s", gvk.Version, gvk.Group, v1alpha1.GroupVersion),
		}
	}
	return FieldError{
		Path:    "kind",
		Line:    lines.line(prefix.child("kind")),
		Message: fmt.Sprintf("unknown kind %q in %s; its kinds are NetworkPolicy and GlobalNetworkPolicy", gvk.Kind, v1alpha1.GroupVersion),
	}
}

// locate attaches file lines to problems and orders them as they appear in the file.
func locate(probs []problem, lines *lineFinder, prefix fieldPath) []FieldError {
	out := make([]FieldError, 0, len(probs))
	for _, p := range probs {
		full := append(append(fieldPath{}, prefix...), p.path...)
		out = append(out, FieldError{Path: p.path.String(), Line: lines.line(full), Message: p.message})
	}
	sort.SliceStable(out, func(i, k int) bool {
		if out[i].Line != out[k].Line {
			return out[i].Line < out[k].Line
		}
		return out[i].Path < out[k].Path
	})
	return out
}

func lineOr(line, fallback int) int {
	if line > 0 {
		return line
	}
	return fallback
}
