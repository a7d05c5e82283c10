package convert

import (
	"reflect"
	"testing"

	yaml2 "go.yaml.in/yaml/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/pkg/manifest"
)

func ranges(spec ...string) []v1alpha1.PortRange {
	var out []v1alpha1.PortRange
	for _, s := range spec {
		r, err := v1alpha1.PortFromString(s).Parse()
		if err != nil {
			panic(err)
		}
		out = append(out, r)
	}
	return out
}

func TestSimplifyPorts(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{in: nil, want: nil},
		{in: []string{"80"}, want: []string{"80"}},
		{in: []string{"http", "80"}, want: []string{"http", "80"}},
		{in: []string{"80", "http"}, want: []string{"80", "http"}}, // one port: kept as written
		{in: []string{"82", "80", "81"}, want: []string{"80:82"}},
		{in: []string{"80", "80"}, want: []string{"80"}},
		{in: []string{"90:100", "80", "http", "95:120", "121", "200"}, want: []string{"http", "80", "90:121", "200"}},
		{in: []string{"1:65535", "22"}, want: []string{"1:65535"}},
		{in: []string{"10:20", "metrics"}, want: []string{"metrics", "10:20"}}, // a range covers several ports
	}
	for _, tt := range tests {
		got := simplifyPorts(ranges(tt.in...))
		if !reflect.DeepEqual(got, ranges(tt.want...)) {
			t.Errorf("simplifyPorts(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestLabelSelector(t *testing.T) {
	tests := []struct {
		name string
		in   metav1.LabelSelector
		want string
	}{
		{name: "empty", in: metav1.LabelSelector{}, want: ""},
		{name: "labels sorted by key", in: metav1.LabelSelector{MatchLabels: map[string]string{"podC": "D", "podA": "B"}}, want: "podA == 'B' && podC == 'D'"},
		{
			name: "expressions in order after labels",
			in: metav1.LabelSelector{
				MatchLabels: map[string]string{"a": "b"},
				MatchExpressions: []metav1.LabelSelectorRequirement{
					{Key: "k", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x"}},
					{Key: "j", Operator: metav1.LabelSelectorOpIn, Values: []string{"1", "2"}},
					{Key: "e", Operator: metav1.LabelSelectorOpDoesNotExist},
					{Key: "f", Operator: metav1.LabelSelectorOpExists},
				},
			},
			want: "a == 'b' && k not in { 'x' } && j in { '1', '2' } && ! has(e) && has(f)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &problems{doc: &manifest.Document{}}
			if got := labelSelector(&tt.in, "spec.podSelector", p); got != tt.want || len(p.list) != 0 {
				t.Errorf("labelSelector = %q (problems %v), want %q", got, p.list, tt.want)
			}
		})
	}
}

func TestStringNodeReadsBackAsTheSameString(t *testing.T) {
	for _, s := range []string{
		"", "y", "n", "yes", "No", "on", "OFF", "true", "null", "~", "80", "0x1F", "1e3", "1:2", "59:59",
		"8000:8100", "2001:db8::/32", "app == 'x'", "!has(a)", "*.example.org", "- x", "a: b", "# c",
		" leading", "trailing ", "multi\nline", "\"quoted\"", "it's", "{}", "[]", "@x", "`x",
	} {
		y, err := marshalYAML(stringNode(s))
		if err != nil {
			t.Fatal(err)
		}
		var back any
		if err := yaml2.Unmarshal(y, &back); err != nil || back != s {
			t.Errorf("%q written as %q reads back as %#v (%v)", s, y, back, err)
		}
		if base60.MatchString(s) && y[0] != '"' {
			t.Errorf("%q written plain as %q; YAML 1.1 readers take it for a number", s, y)
		}
	}
}
