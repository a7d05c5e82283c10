package syncer

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/palisade-dev/palisade/enforcer/command"
	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/iptables"
)

var ruleCostRules = flag.Int("rulecost-rules", 1000, "BenchmarkRuleCost: rules of each kind a new connection's first packet walks")

// BenchmarkRuleCost sizes what one rule of each kind that a walked policy holds costs a new
// flow, with iptables-nft: per case a topology of its own (BenchmarkDatapath's) whose node
// walks, for the first packet of each connection (the rest are ESTABLISHED, accepted before),
// N rules of one kind that do not decide, after conntrack. The per-rule cost is the case's
// median time over the empty walk's, per connection and rule. It explains BenchmarkDatapath's
// policies case rule by rule (docs/benchmarks.md): a walked policy is a guarded jump with a
// comment, a set lookup, a mark test and the CIDR Deny's rules.
//
//	go test -run '^$' -bench BenchmarkRuleCost -benchtime 1x ./enforcer/syncer/   # as root
func BenchmarkRuleCost(b *testing.B) {
	n := *ruleCostRules
	const conns = 2000
	server := netip.MustParseAddr("198.18.0.10")
	client := netip.MustParseAddr("198.18.1.10")
	addr := netip.AddrPortFrom(server, 80).String()
	tools := iptables.ToolsFor(iptables.NFT, desired.IPv4)
	ctx := context.Background()
	kinds := []struct{ name, rule string }{
		{"empty", ""},
		{"address", "-s 192.168.0.0/24 -j DROP"}, // the CIDR Deny's test: native
		{"comment", `-m comment --comment "np/ns/p0 ingress rule 0 Allow"`},               // matches: a comment call and a counter
		{"mark", "-m mark --mark 0x10000/0x10000 -j RETURN"},                              // the return after a policy: native
		{"set", "-p tcp -m set --match-set BENCH-PEERS src -j DROP"},                      // a source selector: nft_compat
		{"jump", `-m mark --mark 0x0/0x20000 -m comment --comment "np/ns/p0" -j BENCH-E`}, // an endpoint chain's call of a policy
		{"jump-bare", "-m mark --mark 0x0/0x20000 -j BENCH-E"},                            // the same without its comment
	}
	var bcs []benchCase
	for _, k := range kinds {
		topo := newDatapathTopology(b, server, client)
		serve(b, topo.server, addr)
		node := command.Exec{Netns: topo.node.Name}
		if _, err := node.Run(ctx, nil, "ipset", "create", "BENCH-PEERS", "hash:ip"); err != nil {
			b.Fatal(err)
		}
		for i := range 10 {
			if _, err := node.Run(ctx, nil, "ipset", "add", "BENCH-PEERS", fmt.Sprintf("198.19.0.%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		var sb strings.Builder
		sb.WriteString("*filter\n:BENCH-WALK - [0:0]\n:BENCH-E - [0:0]\n" +
			"-A FORWARD -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n-A FORWARD -j BENCH-WALK\n")
		if k.rule != "" {
			for range n {
				sb.WriteString("-A BENCH-WALK " + k.rule + "\n")
			}
		}
		sb.WriteString("COMMIT\n")
		if _, err := node.Run(ctx, []byte(sb.String()), tools.Restore, "-w", "5"); err != nil {
			b.Fatalf("%s's rules: %v", k.name, err)
		}
		bcs = append(bcs, benchCase{k.name, timedConnects(topo, addr, conns)})
	}
	for b.Loop() {
		res := interleave(b, *benchRounds, bcs)
		empty := median(res["empty"], wallOf)
		var lines []string
		for _, k := range kinds[1:] {
			per := float64(median(res[k.name], wallOf)-empty) / float64(n*conns)
			b.ReportMetric(per, k.name+"-ns/rule")
			lines = append(lines, fmt.Sprintf("%-10s %6.0f ns per rule and new connection", k.name, per))
		}
		b.Logf("%d rules walked, medians of %d rounds of %d connections, empty walk %v:\n%s", n, *benchRounds, conns, empty, strings.Join(lines, "\n"))
	}
}
