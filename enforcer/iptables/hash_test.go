package iptables

import "testing"

// TestWithHashPlacesTheMarkerAfterTheCriteria: the marker goes just before the rule's own comment
// (after every criterion, where nft_compat calls it only for packets the rule takes), at the start
// of a rule without a comment, and parseSave's ruleHash finds it back in either place.
func TestWithHashPlacesTheMarkerAfterTheCriteria(t *testing.T) {
	const h = "0123456789abcdef"
	tests := []struct{ rule, want string }{
		{
			rule: `-p tcp -m multiport --dports 80 -m set --match-set PAL4s:a src -m comment --comment "np/ns/p ingress rule 0 Allow" -j MARK --set-xmark 0x10000/0x10000`,
			want: `-p tcp -m multiport --dports 80 -m set --match-set PAL4s:a src -m comment --comment "PAL:` + h + `" -m comment --comment "np/ns/p ingress rule 0 Allow" -j MARK --set-xmark 0x10000/0x10000`,
		},
		{
			rule: `-m comment --comment "ns/pod ingress: start" -j MARK --set-xmark 0x0/0x30000`,
			want: `-m comment --comment "PAL:` + h + `" -m comment --comment "ns/pod ingress: start" -j MARK --set-xmark 0x0/0x30000`,
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
