package probe

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts("80/TCP, 81/udp,icmp,80,80/TCP,ICMP")
	if err != nil {
		t.Fatal(err)
	}
	want := []Port{{80, TCP}, {81, UDP}, {0, ICMP}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParsePorts (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "0/TCP", "70000", "80/SCTP", "x/TCP", "80,,81"} {
		if _, err := ParsePorts(bad); err == nil {
			t.Errorf("ParsePorts(%q) succeeded", bad)
		}
	}
}

func TestSortAndJSON(t *testing.T) {
	v := []Verdict{
		{From: "b/x", To: "a/x", Port: 80, Protocol: UDP},
		{From: "a/x", To: "b/x", Port: 80, Protocol: UDP, Allowed: true, Reason: "not in the JSON"},
		{From: "a/x", To: "b/x", Port: 81, Protocol: TCP},
		{From: "b/x", To: "a/x", Port: 80, Protocol: TCP, Allowed: true},
	}
	Sort(v)
	b, err := json.Marshal(Matrix{Verdicts: v})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"verdicts":[` +
		`{"from":"b/x","to":"a/x","port":80,"protocol":"TCP","allowed":true},` +
		`{"from":"a/x","to":"b/x","port":80,"protocol":"UDP","allowed":true},` +
		`{"from":"b/x","to":"a/x","port":80,"protocol":"UDP","allowed":false},` +
		`{"from":"a/x","to":"b/x","port":81,"protocol":"TCP","allowed":false}]}`
	if string(b) != want {
		t.Errorf("JSON\n got %s\nwant %s", b, want)
	}
}

func TestDiff(t *testing.T) {
	v := func(from, to string, port uint16, proto string, allowed bool) Verdict {
		return Verdict{From: from, To: to, Port: port, Protocol: proto, Allowed: allowed}
	}
	expected := []Verdict{
		v("a/x", "a/x", 80, TCP, false), // self: ignored
		v("a/x", "b/y", 80, TCP, true),
		v("b/y", "a/x", 80, TCP, true),
		v("a/x", "b/y", 80, UDP, false),
		v("b/y", "a/x", 80, UDP, true),
	}
	measured := []Verdict{
		v("a/x", "b/y", 80, TCP, true),
		{From: "b/y", To: "a/x", Port: 80, Protocol: TCP, Reason: "connect: timeout"},
		v("a/x", "b/y", 80, UDP, false),
		v("a/x", "b/y", 81, TCP, true),
	}
	got := Diff(measured, expected)
	var lines []string
	for _, m := range got {
		lines = append(lines, m.String())
	}
	want := []string{
		"b/y -> a/x 80/TCP: measured denied, expected allowed (connect: timeout)",
		"b/y -> a/x 80/UDP: not in the measured matrix",
		"a/x -> b/y 81/TCP: not in the expected matrix",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("Diff (-want +got):\n%s", diff)
	}
	if d := Diff(expected[1:3], expected); len(d) != 2 || !strings.Contains(d[0].String(), "not in the measured") {
		t.Errorf("Diff of a subset = %v", d)
	}
}
