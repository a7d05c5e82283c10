package convert

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	yaml2 "go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// outputObject fixes the order and the content of an emitted policy: no status, and only the
// metadata a user writes (metav1.ObjectMeta would print "creationTimestamp: null").
type outputObject struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   outputMetadata `json:"metadata"`
	Spec       any            `json:"spec"`
}

type outputMetadata struct {
	Name            string                  `json:"name,omitempty"`
	GenerateName    string                  `json:"generateName,omitempty"`
	Namespace       string                  `json:"namespace,omitempty"`
	Labels          map[string]string       `json:"labels,omitempty"`
	Annotations     map[string]string       `json:"annotations,omitempty"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences,omitempty"`
	Finalizers      []string                `json:"finalizers,omitempty"`
}

// specOrder is the order of spec fields in the output: what the policy applies to, then what it
// does, then the rest. Fields not listed (none today) follow in the API type's order.
var specOrder = []string{
	"tier", "order", "selector", "namespaceSelector", "serviceAccountSelector", "types",
	"ingress", "egress", "doNotTrack", "preDNAT", "applyOnForward", "performanceHints", "rollout",
}

// Encode renders a converted policy as one YAML document (without a "---" marker).
func Encode(obj Object) ([]byte, error) {
	var spec any
	switch o := obj.(type) {
	case *v1alpha1.NetworkPolicy:
		spec = o.Spec
	case *v1alpha1.GlobalNetworkPolicy:
		spec = o.Spec
	default:
		return nil, fmt.Errorf("encoding %T: not a Palisade policy", obj)
	}
	out := outputObject{
		APIVersion: obj.GetObjectKind().GroupVersionKind().GroupVersion().String(),
		Kind:       obj.GetObjectKind().GroupVersionKind().Kind,
		Metadata: outputMetadata{
			Name:            obj.GetName(),
			GenerateName:    obj.GetGenerateName(),
			Namespace:       obj.GetNamespace(),
			Labels:          obj.GetLabels(),
			Annotations:     obj.GetAnnotations(),
			OwnerReferences: obj.GetOwnerReferences(),
			Finalizers:      obj.GetFinalizers(),
		},
		Spec: spec,
	}
	j, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", out.Kind, out.Metadata.Name, err)
	}
	tree, err := orderedJSON(j)
	if err != nil {
		return nil, fmt.Errorf("encoding %s %s: %w", out.Kind, out.Metadata.Name, err)
	}
	for i := 0; i+1 < len(tree.Content); i += 2 {
		if tree.Content[i].Value == "spec" && tree.Content[i+1].Kind == yaml3.MappingNode {
			reorder(tree.Content[i+1], specOrder)
		}
	}
	return marshalYAML(tree)
}

// JSONToYAML renders a JSON value as YAML keeping its key order; convert uses it for List items
// that pass through unchanged and have no text of their own.
func JSONToYAML(j []byte) ([]byte, error) {
	tree, err := orderedJSON(j)
	if err != nil {
		return nil, err
	}
	return marshalYAML(tree)
}

// marshalYAML writes block YAML with two-space indentation, lists not indented under their key
// (kubectl's style), and no line wrapping.
func marshalYAML(tree *yaml3.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml3.NewEncoder(&b)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(tree); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing YAML: %w", err)
	}
	return b.Bytes(), nil
}

// orderedJSON decodes JSON into a YAML node tree that keeps object key order.
func orderedJSON(j []byte) (*yaml3.Node, error) {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.UseNumber()
	n, err := orderedValue(dec)
	if err != nil {
		return nil, fmt.Errorf("reading JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("reading JSON: trailing data")
	}
	return n, nil
}

func orderedValue(dec *json.Decoder) (*yaml3.Node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := &yaml3.Node{Kind: yaml3.MappingNode, Tag: "!!map"}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := orderedValue(dec)
				if err != nil {
					return nil, err
				}
				m.Content = append(m.Content, stringNode(k), v)
			}
			_, err := dec.Token() // '}'
			return m, err
		case '[':
			l := &yaml3.Node{Kind: yaml3.SequenceNode, Tag: "!!seq"}
			for dec.More() {
				v, err := orderedValue(dec)
				if err != nil {
					return nil, err
				}
				l.Content = append(l.Content, v)
			}
			_, err := dec.Token() // ']'
			return l, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		tag := "!!float"
		if _, err := t.Int64(); err == nil {
			tag = "!!int"
		}
		return &yaml3.Node{Kind: yaml3.ScalarNode, Tag: tag, Value: t.String()}, nil
	case string:
		return stringNode(t), nil
	case bool:
		return &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(t)}, nil
	default:
		return &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
}

// base60 matches YAML 1.1 sexagesimal numbers ("1:2" is 62 to a YAML 1.1 reader).
var base60 = regexp.MustCompile(`^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`)

// stringNode makes a string scalar that every YAML reader reads back as the same string. The
// emitter quotes what YAML 1.2 would read as another type; kubectl reads YAML 1.1, where "y" and
// "on" are booleans, so a plain form is kept only when kubectl's reader agrees, and never for a
// sexagesimal number (a port range such as "1:2"), which other YAML 1.1 readers turn into a number.
func stringNode(s string) *yaml3.Node {
	n := &yaml3.Node{Kind: yaml3.ScalarNode, Tag: "!!str", Value: s}
	var back any
	if err := yaml2.Unmarshal([]byte(s), &back); err != nil || back != s || base60.MatchString(s) {
		n.Style = yaml3.DoubleQuotedStyle
	}
	return n
}

// reorder puts the keys of mapping node m listed in order first, in that order, and keeps the
// others after them in their original order.
func reorder(m *yaml3.Node, order []string) {
	rank := map[string]int{}
	for i, k := range order {
		rank[k] = i
	}
	type pair struct{ k, v *yaml3.Node }
	var pairs []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	sort.SliceStable(pairs, func(i, k int) bool {
		ri, iok := rank[pairs[i].k.Value]
		rk, kok := rank[pairs[k].k.Value]
		switch {
		case iok && kok:
			return ri < rk
		default:
			return iok && !kok
		}
	})
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}
