package nflog

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseAttributes(t *testing.T) {
	pkt := ipv4(6, "198.18.0.1", "198.18.0.2", tcpSYN(1, 2))
	ts := cat(be32(0), be32(1_700_000_000), be32(0), be32(250))
	tests := []struct {
		name    string
		msg     []byte
		want    Attributes
		wantErr string
	}{
		{name: "full message",
			msg: cat(nfgen(2, 7),
				nla(attrPacketHdr, []byte{0x08, 0x00, 3, 0}),
				nla(attrMark, be32(42)),
				nla(attrTimestamp, ts),
				nla(attrInDev, be32(1)),
				nla(attrOutDev, be32(5)),
				nla(attrPrefix, []byte("pal-wd\x00")),
				nla(attrSeq, be32(9)),
				nla(15, be16(1)), // HWTYPE: skipped
				nla(attrPayload, pkt)),
			want: Attributes{Family: 2, Group: 7, HWProtocol: 0x0800, Hook: 3, HasHeader: true, Mark: 42,
				Timestamp: time.Unix(1_700_000_000, 250_000).UTC(), InDev: 1, OutDev: 5, Prefix: "pal-wd",
				Seq: 9, HasSeq: true, Payload: pkt}},
		{name: "flags in the type are ignored", msg: cat(nfgen(10, 1), nla(attrPrefix|0x4000, []byte("x\x00"))),
			want: Attributes{Family: 10, Group: 1, Prefix: "x"}},
		{name: "prefix without NUL", msg: cat(nfgen(2, 1), nla(attrPrefix, []byte("abc"))),
			want: Attributes{Family: 2, Group: 1, Prefix: "abc"}},
		{name: "last attribute without padding", msg: cat(nfgen(2, 1), nla(attrPayload, []byte{1, 2, 3}))[:11],
			want: Attributes{Family: 2, Group: 1, Payload: []byte{1, 2, 3}}},
		{name: "timestamp out of range ignored", msg: cat(nfgen(2, 1), nla(attrTimestamp, cat(be32(0xffffffff), be32(0), be32(0), be32(0)))),
			want: Attributes{Family: 2, Group: 1}},
		{name: "no attributes", msg: nfgen(2, 3), want: Attributes{Family: 2, Group: 3}},

		{name: "short nfgenmsg", msg: []byte{2, 0, 0}, wantErr: "nfgenmsg header"},
		{name: "trailing garbage", msg: cat(nfgen(2, 1), []byte{1, 2}), wantErr: "2 trailing bytes"},
		{name: "length below header (lying)", msg: cat(nfgen(2, 1), []byte{2, 0, 9, 0}), wantErr: "length 2"},
		{name: "length beyond message (lying)", msg: cat(nfgen(2, 1), []byte{200, 0, 9, 0, 1, 2, 3, 4}), wantErr: "length 200 with 8 bytes left"},
		{name: "short packet header", msg: cat(nfgen(2, 1), nla(attrPacketHdr, []byte{8})), wantErr: "attribute 1: 1 bytes, need 3"},
		{name: "short timestamp", msg: cat(nfgen(2, 1), nla(attrTimestamp, be32(1))), wantErr: "attribute 3"},
		{name: "short indev", msg: cat(nfgen(2, 1), nla(attrInDev, be16(1))), wantErr: "attribute 4"},
		{name: "short seq", msg: cat(nfgen(2, 1), nla(attrSeq, []byte{1})), wantErr: "attribute 12"},
		{name: "prefix too long", msg: cat(nfgen(2, 1), nla(attrPrefix, []byte(strings.Repeat("p", 200)))), wantErr: "prefix: 200 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAttributes(tc.msg)
			if tc.wantErr != "" {
				if err == nil || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want ErrMalformed containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseAttributes: %v", err)
			}
			if d := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("attributes (-want +got):\n%s", d)
			}
		})
	}
}
