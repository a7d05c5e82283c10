package manifest

import (
	"encoding/binary"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"unicode/utf16"
)

// encodings are every text encoding kubectl's reader accepts, as functions of UTF-8 text.
var encodings = map[string]func(string) []byte{
	"utf-8":        func(s string) []byte { return []byte(s) },
	"utf-8 bom":    func(s string) []byte { return append([]byte{0xEF, 0xBB, 0xBF}, s...) },
	"utf-16le bom": func(s string) []byte { return encode16(s, binary.LittleEndian, []byte{0xFF, 0xFE}) },
	"utf-16be bom": func(s string) []byte { return encode16(s, binary.BigEndian, []byte{0xFE, 0xFF}) },
	"utf-32le bom": func(s string) []byte { return encode32(s, binary.LittleEndian, []byte{0xFF, 0xFE, 0, 0}) },
	"utf-32be bom": func(s string) []byte { return encode32(s, binary.BigEndian, []byte{0, 0, 0xFE, 0xFF}) },
}

func encode16(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := append([]byte(nil), bom...)
	for _, u := range utf16.Encode([]rune(s)) {
		out = order.AppendUint16(out, u)
	}
	return out
}

func encode32(s string, order binary.AppendByteOrder, bom []byte) []byte {
	out := append([]byte(nil), bom...)
	for _, r := range s {
		out = order.AppendUint32(out, uint32(r))
	}
	return out
}

// TestParseEveryForm reads the same two policies (a Deny in second place) written in every
// separator and encoding kubectl reads: both must be read, with their lines.
func TestParseEveryForm(t *testing.T) {
	forms := []struct {
		name string
		text string
		want []string
	}{
		{
			name: "yaml with ---",
			text: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n",
			want: []string{"fuzz.yaml:0 line=1 /a", "fuzz.yaml:1 line=4 /b"},
		},
		{
			name: "yaml ended by ...",
			text: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n...\napiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n...\n",
			want: []string{"fuzz.yaml:0 line=1 /a", "fuzz.yaml:1 line=4 /b"},
		},
		{
			name: "json lines as jq -c writes",
			text: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}` + "\n" + `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}` + "\n",
			want: []string{"fuzz.yaml:0 line=1 /a", "fuzz.yaml:1 line=2 /b"},
		},
		{
			name: "pretty-printed json objects one after another",
			text: "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\",\n  \"metadata\": {\"name\": \"a\"}\n}\n{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\",\n  \"metadata\": {\"name\": \"b\"}\n}\n",
			want: []string{"fuzz.yaml:0 line=1 /a", "fuzz.yaml:1 line=6 /b"},
		},
		{
			name: "json objects on one line",
			text: `{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"a"}}{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"b"}}`,
			want: []string{"fuzz.yaml:0 line=1 /a", "fuzz.yaml:1 line=1 /b"},
		},
		{
			name: "yaml flow mapping is still yaml",
			text: "{apiVersion: v1, kind: Namespace, metadata: {name: a}}\n---\n{apiVersion: v1, kind: Namespace, metadata: {name: b}}\n",
			want: []string{"fuzz.yaml:0 line=1 /a", "fuzz.yaml:1 line=2 /b"},
		},
	}
	for _, f := range forms {
		for enc, encode := range encodings {
			t.Run(f.name+"/"+enc, func(t *testing.T) {
				set, err := Parse("fuzz.yaml", encode(f.text))
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, d := range set.Documents {
					got = append(got, d.Source.String()+" line="+strconv.Itoa(d.Source.Line)+" "+d.Namespace+"/"+d.Name)
				}
				if !reflect.DeepEqual(got, f.want) {
					t.Errorf("got %q\nwant %q", got, f.want)
				}
			})
		}
	}
}

func TestParseRefusesWhatItCannotReadWhole(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{
			name: "a second json value that is not json",
			in:   []byte("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\nkind: Namespace\n"),
			want: "f.yaml: document 1, line 2: invalid JSON after the previous object of the stream: invalid character 'k' looking for beginning of value",
		},
		{
			name: "misspelt kind in networking.k8s.io",
			in:   []byte("apiVersion: networking.k8s.io/v1\nkind: NetworkPolcy\nmetadata: {name: a}\n"),
			want: "f.yaml: document 0, line 2: networking.k8s.io/v1 NetworkPolcy: unknown kind of networking.k8s.io (its kinds are NetworkPolicy, Ingress, IngressClass, IPAddress and ServiceCIDR); a misspelt policy would be missing from every verdict",
		},
		{
			name: "extensions/v1beta1 NetworkPolicy",
			in:   []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: extensions/v1beta1\nkind: NetworkPolicy\nmetadata: {name: a}\n"),
			want: "f.yaml: document 1, line 6: extensions/v1beta1 NetworkPolicy was removed in Kubernetes 1.16 and no cluster would store it; write it as networking.k8s.io/v1",
		},
		{
			name: "v1 NetworkPolicy",
			in:   []byte("apiVersion: v1\nkind: NetworkPolicy\nmetadata: {name: a}\n"),
			want: "f.yaml: document 0, line 2: v1 NetworkPolicy is not a policy kind Palisade reads (it reads networking.k8s.io/v1 NetworkPolicy and policy.palisade.dev/v1alpha1 NetworkPolicy and GlobalNetworkPolicy); a policy left out would be missing from every verdict",
		},
		{
			name: "unsupported version of a supported kind",
			in:   []byte("apiVersion: networking.k8s.io/v1beta1\nkind: NetworkPolicy\nmetadata: {name: a}\n"),
			want: "f.yaml: document 0, line 2: networking.k8s.io/v1beta1 NetworkPolicy: unsupported version \"v1beta1\" of NetworkPolicy; the version read is networking.k8s.io/v1 (skipping it could drop what it says about policy)",
		},
		{
			name: "AdminNetworkPolicy",
			in:   []byte("apiVersion: policy.networking.k8s.io/v1alpha1\nkind: AdminNetworkPolicy\nmetadata: {name: a}\n"),
			want: "f.yaml: document 0, line 2: policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy is not a policy kind Palisade reads (it reads networking.k8s.io/v1 NetworkPolicy and policy.palisade.dev/v1alpha1 NetworkPolicy and GlobalNetworkPolicy); a policy left out would be missing from every verdict",
		},
		{
			name: "a List inside a List",
			in:   []byte("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n  items:\n  - {apiVersion: networking.k8s.io/v1, kind: NetworkPolicy, metadata: {name: a}}\n"),
			want: "f.yaml: document 0, line 4: items[0]: a List inside a List is not read by kubectl; write its items in the outer list",
		},
		{
			name: "an infinite number is named with its line",
			in:   []byte("apiVersion: policy.palisade.dev/v1alpha1\nkind: GlobalNetworkPolicy\nmetadata: {name: g}\nspec:\n  order: .inf\n"),
			want: "f.yaml: document 0, line 5: invalid YAML: a number is infinite or not a number (.inf, .nan): Kubernetes objects hold finite numbers only",
		},
		{
			name: "a JSON syntax error is named by line and column",
			in:   []byte("{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Namespace\"\n  \"metadata\": {\"name\": \"a\"}\n}\n"),
			want: "f.yaml: document 0, line 4: invalid JSON at column 3: invalid character '\"' after object key:value pair",
		},
		{
			name: "utf-16 with an odd length",
			in:   []byte{0xFF, 0xFE, 'a', 0, 'b'},
			want: "f.yaml: UTF-16LE text (by its byte order mark) has an odd number of bytes",
		},
		{
			name: "utf-16 without a byte order mark",
			in:   []byte{'a', 0, ':', 0, ' ', 0, '1', 0},
			want: "f.yaml: document 0: invalid YAML: control characters are not allowed",
		},
		{
			name: "latin-1",
			in:   []byte("a: caf\xe9\n"),
			want: "f.yaml: not valid UTF-8 at byte 6: save the file as UTF-8, or as UTF-16 or UTF-32 with a byte order mark",
		},
		{
			name: "utf-32 code point out of range",
			in:   []byte{0xFF, 0xFE, 0, 0, 0, 0, 0x11, 0},
			want: "f.yaml: UTF-32LE text: invalid code point 0x110000 at byte 4",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", tt.in)
			var fe *Error
			if !errors.As(err, &fe) || err.Error() != tt.want {
				t.Errorf("got %v\nwant %s", err, tt.want)
			}
		})
	}
}
