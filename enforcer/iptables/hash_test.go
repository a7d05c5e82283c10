package iptables

import (
	"strings"
	"testing"
)

// TestWithHashPlacesTheMarkerAfterTheCriteria: the marker starts the rule's own comment (after
// every criterion, where nft_compat calls it only for packets the rule takes, and once), is the
// comment of a rule without one, and parseSave's ruleHash finds it back either way.
func TestWithHashPlacesTheMarkerAfterTheCriteria(t *testing.T) {
	const h = "0123456789abcdef"
	tests := []struct{ rule, want string }{
		{
			rule: `-p tcp -m multiport --dports 80 -m set --match-set PAL4s:a src -m comment --comment "np/ns/p ingress rule 0 Allow" -j MARK --set-xmark 0x10000/0x10000`,
			want: `-p tcp -m multiport --dports 80 -m set --match-set PAL4s:a src -m comment --comment "PAL:` + h + ` np/ns/p ingress rule 0 Allow" -j MARK --set-xmark 0x10000/0x10000`,
		},
		{
			rule: `-m comment --comment "ns/pod ingress: start" -j MARK --set-xmark 0x0/0x30000`,
			want: `-m comment --comment "PAL:` + h + ` ns/pod ingress: start" -j MARK --set-xmark 0x0/0x30000`,
		},
		{
			// A comment at the limit is cut so that the marker still fits (xt_comment: 255 bytes).
			rule: `-m mark --mark 0x0/0x20000 -m comment --comment "` + strings.Repeat("x", 255) + `" -j DROP`,
			want: `-m mark --mark 0x0/0x20000 -m comment --comment "PAL:` + h + ` ` + strings.Repeat("x", 255-21) + `" -j DROP`,
		},
		{
			rule: `-m set --match-set PAL-s-a src -j ACCEPT`,
			want: `-m comment --comment "PAL:` + h + `" -m set --match-set PAL-s-a src -j ACCEPT`,
		},
	}
	for _, tc := range tests {
		got := withHash(tc.rule, h)
		if got != tc.want {
			t.Errorf("withHash(%q):\n got %s\nwant %s", tc.rule, got, tc.want)
		}
		if rh := ruleHash("-A PAL-X " + got); rh != h {
			t.Errorf("ruleHash of %q = %q, want %q", got, rh, h)
		}
	}
}
