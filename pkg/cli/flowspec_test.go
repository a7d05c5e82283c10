package cli

import (
	"slices"
	"testing"
)

func TestParsePort(t *testing.T) {
	tests := []struct {
		in      string
		want    portSpec
		wantErr string
	}{
		{in: "80", want: portSpec{80, "TCP"}},
		{in: "80/TCP", want: portSpec{80, "TCP"}},
		{in: "53/udp", want: portSpec{53, "UDP"}},
		{in: "9000/Sctp", want: portSpec{9000, "SCTP"}},
		{in: " 65535/UDP ", want: portSpec{65535, "UDP"}},
		{in: "0/TCP", wantErr: `parsing port "0/TCP": want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP`},
		{in: "65536", wantErr: `parsing port "65536": want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP`},
		{in: "-1/TCP", wantErr: `parsing port "-1/TCP": want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP`},
		{in: "http", wantErr: `parsing port "http": want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP`},
		{in: "80/", wantErr: `parsing port "80/": protocol "" is not one of TCP, UDP, SCTP`},
		{in: "80/ICMP", wantErr: `parsing port "80/ICMP": protocol "ICMP" is not one of TCP, UDP, SCTP`},
		{in: "80/TCP/x", wantErr: `parsing port "80/TCP/x": protocol "TCP/x" is not one of TCP, UDP, SCTP`},
		{in: "", wantErr: `parsing port "": want PORT/PROTOCOL with PORT in 1-65535, like 80/TCP`},
	}
	for _, tt := range tests {
		got, err := parsePort(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("parsePort(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePort(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePorts(t *testing.T) {
	got, err := parsePorts("81/TCP, 53/udp,80,80/TCP,53/UDP")
	want := []portSpec{{81, "TCP"}, {53, "UDP"}, {80, "TCP"}}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("parsePorts = %v, %v; want %v (first-seen order, duplicates dropped)", got, err, want)
	}
	for _, bad := range []string{"", ",", "80,", "80/TCP,,81", "80,x"} {
		if _, err := parsePorts(bad); err == nil {
			t.Errorf("parsePorts(%q) accepted", bad)
		}
	}
}

func TestParseICMP(t *testing.T) {
	tests := []struct {
		in   string
		want icmpSpec
		ok   bool
	}{
		{"8", icmpSpec{8, 0}, true},
		{"8/0", icmpSpec{8, 0}, true},
		{"3/4", icmpSpec{3, 4}, true},
		{"255/255", icmpSpec{255, 255}, true},
		{"256", icmpSpec{}, false},
		{"8/256", icmpSpec{}, false},
		{"echo", icmpSpec{}, false},
		{"8/", icmpSpec{}, false},
		{"", icmpSpec{}, false},
	}
	for _, tt := range tests {
		got, err := parseICMP(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseICMP(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

// FuzzParsePort: never panics, and an accepted port renders to a string that
// parses back to the same port.
func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "80/TCP", "53/udp", "0", "65536/SCTP", "http", "/", "80//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePort(s)
		if err != nil {
			return
		}
		back, err := parsePort(p.String())
		if err != nil || back != p {
			t.Fatalf("parsePort(%q) = %v, whose String %q parses to %v, %v", s, p, p.String(), back, err)
		}
		if _, err := parsePorts(s); err != nil {
			t.Fatalf("parsePort accepts %q but parsePorts rejects it: %v", s, err)
		}
	})
}

// FuzzParseICMP: never panics; accepted values are TYPE or TYPE/CODE.
func FuzzParseICMP(f *testing.F) {
	for _, s := range []string{"8", "8/0", "3/4", "256", "x/y", "/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ic, err := parseICMP(s)
		if err != nil {
			return
		}
		if ic.Code != 0 {
			if _, err := parseICMP(itoa3(ic.Type) + "/" + itoa3(ic.Code)); err != nil {
				t.Fatalf("parseICMP(%q) = %v, which does not render back: %v", s, ic, err)
			}
		}
	})
}

func itoa3(b uint8) string {
	return string([]byte{'0' + b/100, '0' + b/10%10, '0' + b%10})
}
