package manifest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"k8s.io/apimachinery/pkg/util/intstr"
)

// segment is one step of a field path: a struct field or map key (key) or a list index.
type segment struct {
	key     string
	index   int
	isIndex bool
	// mapKey renders as "[key]" (map entries), otherwise ".key" (struct fields).
	mapKey bool
}

type fieldPath []segment

func (p fieldPath) child(key string) fieldPath {
	return append(p[:len(p):len(p)], segment{key: key})
}

func (p fieldPath) mapEntry(key string) fieldPath {
	return append(p[:len(p):len(p)], segment{key: key, mapKey: true})
}

func (p fieldPath) at(i int) fieldPath {
	return append(p[:len(p):len(p)], segment{index: i, isIndex: true})
}

// String renders the path as k8s.io/apimachinery's field.Path does: "spec.ingress[0].ports[1]".
func (p fieldPath) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.isIndex:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		case s.mapKey:
			b.WriteString("[" + s.key + "]")
		default:
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		}
	}
	return b.String()
}

// problem is a decoding problem found by checkValue, before lines are attached.
type problem struct {
	path    fieldPath
	message string
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
)

// checkValue walks a generic JSON value (as decoded by sigs.k8s.io/json with preserved ints) against
// the Go type it will be decoded into, and reports every unknown field and every value of the wrong
// type with its full path.
//
// encoding/json stops at the first type error and names it without list indexes, and its strict
// mode reports unknown fields only when there is no type error; walking ourselves gives lint one
// complete, precisely located list. The walk mirrors encoding/json's rules: case-sensitive field
// names (as sigs.k8s.io/json), promoted fields of embedded structs, null accepted everywhere, and
// json.Unmarshaler types judged by their own UnmarshalJSON.
func checkValue(v any, t reflect.Type, path fieldPath, out *[]problem) {
	if v == nil {
		return // null is accepted for every type and leaves the zero value.
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		// Int-or-string types (ports, protocols, intstr) take a number or a string: say so, in
		// the words used everywhere else, rather than what encoding/json says about int32.
		if t.ConvertibleTo(intOrStringType) {
			switch v.(type) {
			case string, int64:
			default:
				*out = append(*out, problem{path, mismatch("an integer or a string", v)})
				return
			}
		}
		raw, err := json.Marshal(v)
		if err != nil {
			*out = append(*out, problem{path, err.Error()})
			return
		}
		target := reflect.New(t).Interface().(json.Unmarshaler)
		if err := target.UnmarshalJSON(raw); err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				*out = append(*out, problem{path, mismatch("a value of this field's type", v)})
				return
			}
			*out = append(*out, problem{path, err.Error()})
		}
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		return
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			*out = append(*out, problem{path, mismatch("an object", v)})
			return
		}
		fields := structFields(t)
		for _, k := range sortedKeys(obj) {
			ft, known := fields[k]
			if !known {
				*out = append(*out, problem{path.child(k), fmt.Sprintf("unknown field %q", k)})
				continue
			}
			checkValue(obj[k], ft, path.child(k), out)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			*out = append(*out, problem{path, mismatch("an object", v)})
			return
		}
		for _, k := range sortedKeys(obj) {
			checkValue(obj[k], t.Elem(), path.mapEntry(k), out)
		}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			s, ok := v.(string)
			if !ok {
				*out = append(*out, problem{path, mismatch("a base64 string", v)})
			} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
				*out = append(*out, problem{path, "invalid base64: " + err.Error()})
			}
			return
		}
		list, ok := v.([]any)
		if !ok {
			*out = append(*out, problem{path, mismatch("a list", v)})
			return
		}
		for i, item := range list {
			checkValue(item, t.Elem(), path.at(i), out)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			*out = append(*out, problem{path, mismatch("a string", v)})
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			*out = append(*out, problem{path, mismatch("a boolean", v)})
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			*out = append(*out, problem{path, mismatch("an integer", v)})
			return
		}
		if reflect.New(t).Elem().OverflowInt(n) {
			*out = append(*out, problem{path, fmt.Sprintf("integer %d is out of range for this field", n)})
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, ok := v.(int64)
		if !ok {
			*out = append(*out, problem{path, mismatch("a non-negative integer", v)})
			return
		}
		if n < 0 || reflect.New(t).Elem().OverflowUint(uint64(n)) {
			*out = append(*out, problem{path, fmt.Sprintf("integer %d is out of range for this field", n)})
		}
	case reflect.Float32, reflect.Float64:
		switch n := v.(type) {
		case int64:
		case float64:
			if t.Kind() == reflect.Float32 && math.Abs(n) > math.MaxFloat32 {
				*out = append(*out, problem{path, fmt.Sprintf("number %v is out of range for this field", n)})
			}
		default:
			*out = append(*out, problem{path, mismatch("a number", v)})
		}
	default:
		// Channels, funcs and complex numbers never appear in API types.
		*out = append(*out, problem{path, fmt.Sprintf("field of type %s cannot be decoded", t)})
	}
}

// mismatch describes a value of the wrong JSON type.
func mismatch(want string, got any) string {
	var desc string
	switch g := got.(type) {
	case string:
		desc = fmt.Sprintf("the string %q", g)
	case bool:
		desc = fmt.Sprintf("the boolean %t", g)
	case int64:
		desc = fmt.Sprintf("the number %d", g)
	case float64:
		desc = "the number " + strconv.FormatFloat(g, 'g', -1, 64)
	case []any:
		desc = "a list"
	case map[string]any:
		desc = "an object"
	default:
		desc = fmt.Sprintf("%T", got)
	}
	return "expected " + want + ", got " + desc
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

var fieldCache sync.Map // reflect.Type -> map[string]reflect.Type

// structFields maps the JSON names a struct type accepts to their types, following encoding/json:
// a `json:"-"` field is skipped, an untagged field is named after itself, and the fields of an
// untagged (or `json:",inline"`) embedded struct are promoted unless the outer struct has a field
// of the same name.
func structFields(t reflect.Type) map[string]reflect.Type {
	if cached, ok := fieldCache.Load(t); ok {
		return cached.(map[string]reflect.Type)
	}
	fields := map[string]reflect.Type{}
	var promoted []map[string]reflect.Type
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				promoted = append(promoted, structFields(et))
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
	for _, p := range promoted {
		for name, ft := range p {
			if _, shadowed := fields[name]; !shadowed {
				fields[name] = ft
			}
		}
	}
	fieldCache.Store(t, fields)
	return fields
}
