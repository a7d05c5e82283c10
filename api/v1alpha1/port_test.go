package v1alpha1

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
)

func TestPortParse(t *testing.T) {
	cases := []struct {
		json    string
		want    PortRange
		wantErr bool
	}{
		{json: `80`, want: PortRange{Min: 80, Max: 80}},
		{json: `"80"`, want: PortRange{Min: 80, Max: 80}},
		{json: `0`, want: PortRange{}},   // parses; validation rejects port 0
		{json: `"0"`, want: PortRange{}}, // as Calico's parser
		{json: `65535`, want: PortRange{Min: 65535, Max: 65535}},
		{json: `"80:90"`, want: PortRange{Min: 80, Max: 90}},
		{json: `"90:90"`, want: PortRange{Min: 90, Max: 90}},
		{json: `"1:65535"`, want: PortRange{Min: 1, Max: 65535}},
		{json: `"http"`, want: PortRange{Name: "http"}},
		{json: `"metrics_2.x-y"`, want: PortRange{Name: "metrics_2.x-y"}}, // parser syntax; validation applies IANA rules
		{json: `65536`, wantErr: true},
		{json: `-1`, wantErr: true},
		{json: `"65536"`, wantErr: true},
		{json: `"10:1"`, wantErr: true},
		{json: `"1:2:3"`, wantErr: true},
		{json: `"*"`, wantErr: true},
		{json: `"-1:65535"`, wantErr: true},
		{json: `"0:65536"`, wantErr: true},
		{json: `""`, wantErr: true},
		{json: `"a b"`, wantErr: true},
		{json: `"99999999999999999999"`, wantErr: true},
	}
	for _, tc := range cases {
		t.Run(tc.json, func(t *testing.T) {
			var p Port
			if err := json.Unmarshal([]byte(tc.json), &p); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			got, err := p.Parse()
			if tc.wantErr {
				if !errors.Is(err, ErrPortSyntax) {
					t.Fatalf("Parse() = %v, %v; want an error wrapping ErrPortSyntax", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestPortKeepsWhatWasWritten(t *testing.T) {
	for _, in := range []string{`80`, `"80"`, `"80:90"`, `"http"`} {
		var p Port
		if err := json.Unmarshal([]byte(in), &p); err != nil {
			t.Fatal(err)
		}
		out, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != in {
			t.Errorf("round trip of %s gave %s", in, out)
		}
	}
}

func TestPortRejectsNonScalars(t *testing.T) {
	for _, in := range []string{`[80]`, `{"port":80}`, `true`} {
		var p Port
		if err := json.Unmarshal([]byte(in), &p); err == nil {
			t.Errorf("unmarshal %s: want an error", in)
		}
	}
}

func TestPortRangeStringAndContains(t *testing.T) {
	cases := []struct {
		r       PortRange
		str     string
		in, out uint16
		named   bool
	}{
		{r: PortRange{Min: 80, Max: 80}, str: "80", in: 80, out: 81},
		{r: PortRange{Min: 80, Max: 90}, str: "80:90", in: 90, out: 91},
		{r: PortRange{Name: "http"}, str: "http", out: 0, named: true},
	}
	for _, tc := range cases {
		if got := tc.r.String(); got != tc.str {
			t.Errorf("%+v.String() = %q, want %q", tc.r, got, tc.str)
		}
		if tc.r.IsNamed() != tc.named {
			t.Errorf("%+v.IsNamed() = %v", tc.r, tc.r.IsNamed())
		}
		if !tc.named && !tc.r.Contains(tc.in) {
			t.Errorf("%+v should contain %d", tc.r, tc.in)
		}
		if tc.r.Contains(tc.out) {
			t.Errorf("%+v should not contain %d", tc.r, tc.out)
		}
	}
}

func TestPortFromIntSaturates(t *testing.T) {
	if _, err := PortFromInt(math.MaxInt32 + 100).Parse(); err == nil {
		t.Error("a port beyond int32 must not parse")
	}
	if _, err := PortFromInt(math.MinInt32 - 100).Parse(); err == nil {
		t.Error("a negative port beyond int32 must not parse")
	}
	if got, err := PortFromInt(443).Parse(); err != nil || got != (PortRange{Min: 443, Max: 443}) {
		t.Errorf("PortFromInt(443).Parse() = %+v, %v", got, err)
	}
}

func FuzzPortParse(f *testing.F) {
	for _, s := range []string{`80`, `"80"`, `"80:90"`, `"http"`, `"10:1"`, `-1`, `""`, `"65535:65535"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Port
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		r, err := p.Parse()
		if err != nil {
			return
		}
		// A parsed range re-parses to itself from its written form.
		again, err := PortFromString(r.String()).Parse()
		if err != nil || again != r {
			t.Fatalf("%q parsed to %+v, whose form %q re-parses to %+v, %v", data, r, r.String(), again, err)
		}
		if !r.IsNamed() && r.Min > r.Max {
			t.Fatalf("%q parsed to an inverted range %+v", data, r)
		}
	})
}
