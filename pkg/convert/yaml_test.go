package convert

import (
	"testing"

	yaml2 "go.yaml.in/yaml/v2"
)

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
