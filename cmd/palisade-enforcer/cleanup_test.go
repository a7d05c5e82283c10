package main

import (
	"strings"
	"testing"

	"github.com/go-logr/logr/testr"

	"github.com/palisade-dev/palisade/enforcer/enforcertest"
)

// TestCleanupCommand programs Palisade-looking state beside foreign state in a private namespace and
// checks that `palisade-enforcer cleanup --netns` leaves exactly the foreign state.
func TestCleanupCommand(t *testing.T) {
	ns := enforcertest.Netns(t)
	enforcertest.Run(t, ns, "create KUBE-X hash:ip family inet\nadd KUBE-X 198.18.7.7\n", "ipset", "restore")
	enforcertest.Run(t, ns, "*filter\n:KUBE-SERVICES - [0:0]\n-A FORWARD -j KUBE-SERVICES\n-A KUBE-SERVICES -d 198.18.100.1/32 -j REJECT\nCOMMIT\n", "iptables-nft-restore", "--noflush")
	before, setsBefore := enforcertest.Save(t, ns, "iptables-nft-save"), enforcertest.Save(t, ns, "ipset", "save")
	enforcertest.Run(t, ns, "create PAL-s-a hash:ip family inet\nadd PAL-s-a 198.18.0.1\n", "ipset", "restore")
	enforcertest.Run(t, ns, `*filter
:PAL-FORWARD - [0:0]
:PAL-fw-a - [0:0]
-I FORWARD 1 -m comment --comment palisade-hook -j PAL-FORWARD
-A PAL-FORWARD -m set --match-set PAL-s-a dst -m comment --comment "PAL:0123456789abcdef" -j PAL-fw-a
-A PAL-fw-a -j DROP
COMMIT
`, "iptables-nft-restore", "--noflush")

	cmd := newRootCommand(testr.New(t))
	cmd.SetArgs([]string{"cleanup", "--netns", ns, "--iptables-backend", "nft"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got := enforcertest.Save(t, ns, "iptables-nft-save"); got != before {
		t.Fatalf("iptables after cleanup:\n%s\nwant:\n%s", got, before)
	}
	if got := enforcertest.Save(t, ns, "ipset", "save"); got != setsBefore || strings.Contains(got, "PAL-") {
		t.Fatalf("ipsets after cleanup:\n%s\nwant:\n%s", got, setsBefore)
	}
}

func TestRunRequiresNodeName(t *testing.T) {
	t.Setenv("NODE_NAME", "")
	cmd := newRootCommand(testr.New(t))
	cmd.SetArgs([]string{"run", "--netns", "pal-none"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--node-name") {
		t.Fatalf("run without a node name = %v", err)
	}
}
