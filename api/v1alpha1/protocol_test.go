package v1alpha1

import (
	"encoding/json"
	"testing"
)

func TestProtocol(t *testing.T) {
	cases := []struct {
		json      string
		num       uint8
		wantErr   bool
		ports     bool
		marshaled string
	}{
		{json: `"TCP"`, num: 6, ports: true, marshaled: `"TCP"`},
		{json: `"UDP"`, num: 17, ports: true, marshaled: `"UDP"`},
		{json: `"SCTP"`, num: 132, ports: true, marshaled: `"SCTP"`},
		{json: `"ICMP"`, num: 1, marshaled: `"ICMP"`},
		{json: `"ICMPv6"`, num: 58, marshaled: `"ICMPv6"`},
		{json: `"UDPLite"`, num: 136, marshaled: `"UDPLite"`}, // no ports, as in Calico
		{json: `6`, num: 6, ports: true, marshaled: `6`},
		{json: `"6"`, num: 6, ports: true, marshaled: `6`}, // a numeric string is a number, as in Calico
		{json: `"17"`, num: 17, ports: true, marshaled: `17`},
		{json: `132`, num: 132, ports: true, marshaled: `132`},
		{json: `255`, num: 255, marshaled: `255`},
		{json: `47`, num: 47, marshaled: `47`},
		{json: `0`, wantErr: true, marshaled: `0`},
		{json: `"0"`, wantErr: true, marshaled: `0`},
		{json: `256`, wantErr: true, marshaled: `256`},
		{json: `"256"`, wantErr: true, marshaled: `"256"`}, // stays a string, as in Calico
		{json: `"tcp"`, wantErr: true, marshaled: `"tcp"`}, // names are case-sensitive in v3
		{json: `"tcpfoo"`, wantErr: true, marshaled: `"tcpfoo"`},
		{json: `""`, wantErr: true, marshaled: `""`},
	}
	for _, tc := range cases {
		t.Run(tc.json, func(t *testing.T) {
			var p Protocol
			if err := json.Unmarshal([]byte(tc.json), &p); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			n, err := p.Number()
			if (err != nil) != tc.wantErr || n != tc.num {
				t.Errorf("Number() = %d, %v; want %d, error %v", n, err, tc.num, tc.wantErr)
			}
			if got := p.SupportsPorts(); got != tc.ports {
				t.Errorf("SupportsPorts() = %v, want %v", got, tc.ports)
			}
			out, err := json.Marshal(p)
			if err != nil || string(out) != tc.marshaled {
				t.Errorf("Marshal() = %s, %v; want %s", out, err, tc.marshaled)
			}
		})
	}
}

func TestProtocolFromString(t *testing.T) {
	if got, _ := ProtocolFromString("58").Number(); got != 58 {
		t.Errorf(`ProtocolFromString("58").Number() = %d`, got)
	}
	if got := ProtocolFromString("TCP").String(); got != "TCP" {
		t.Errorf(`ProtocolFromString("TCP").String() = %q`, got)
	}
}

func FuzzProtocol(f *testing.F) {
	for _, s := range []string{`"TCP"`, `6`, `"6"`, `"256"`, `0`, `"ICMPv6"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var p Protocol
		if err := json.Unmarshal(data, &p); err != nil {
			return
		}
		n, err := p.Number()
		out, merr := json.Marshal(p)
		if merr != nil {
			t.Fatalf("marshal %q: %v", data, merr)
		}
		// What is stored must mean the same after a round trip through JSON.
		var back Protocol
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("re-unmarshal %s: %v", out, err)
		}
		n2, err2 := back.Number()
		if n != n2 || (err == nil) != (err2 == nil) {
			t.Fatalf("%q: %d,%v then %d,%v after a round trip", data, n, err, n2, err2)
		}
	})
}
