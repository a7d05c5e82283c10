package main

import (
	"context"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/palisade-dev/palisade/enforcer/desired"
)

const (
	shadowSample = `-m conntrack --ctstate NEW -m limit --limit 5/sec --limit-burst 10 -m comment --comment "Palisade observe: web/p0 ingress new connections, 1 candidate(s) shadowed" -j NFLOG --nflog-prefix "SI|web/p0" --nflog-group 2`
	shadowOffer  = `-m conntrack --ctstate NEW -m comment --comment "Palisade offered: web/p0 ingress new connections, 1 candidate(s) shadowed"`
	dropSample   = `-m limit --limit 200/sec --limit-burst 400 -m comment --comment "Palisade observe: end of tier" -j NFLOG --nflog-prefix "DI|np/web/deny" --nflog-group 2`
	dropOffer    = `-m comment --comment "Palisade offered: end of tier"`
)

func TestCountingOfferedCountsTheRenderersCounterRules(t *testing.T) {
	rules := []string{shadowOffer, shadowSample, "-j MARK --set-xmark 0x1/0x1", dropOffer, dropSample, "-j DROP"}
	rs := desired.Ruleset{Tables: []desired.Table{{Name: "filter", Family: desired.IPv4, Chains: []desired.Chain{
		{Name: "PAL-TW-a", Rules: rules},
		{Name: "PAL-FORWARD", Rules: []string{"-j ACCEPT"}},
	}}}}
	var n atomic.Int64
	got, err := countingOffered(func(context.Context) (desired.Ruleset, error) { return rs, nil }, &n)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Tables[0].Chains[0].Rules, rules) {
		t.Fatalf("the desired state changed: %q", got.Tables[0].Chains[0].Rules)
	}
	if n.Load() != 2 {
		t.Fatalf("counters %d, want 2", n.Load())
	}
	if err := got.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestUnsampledCounterFollowsCountersAcrossRewrites(t *testing.T) {
	save := func(offered, sampled int, hash string) []byte {
		return []byte("*filter\n:PAL-TW-a - [0:0]\n" +
			"[" + itoa(offered) + ":0] -A PAL-TW-a -m conntrack --ctstate NEW -m comment --comment \"PAL:" + hash + " Palisade offered: web/p0\"\n" +
			"[" + itoa(sampled) + ":0] -A PAL-TW-a -m conntrack --ctstate NEW -m limit --limit 5/sec --limit-burst 10 -m comment --comment \"PAL:" + hash + "x Palisade observe: web/p0\" -j NFLOG --nflog-prefix \"SI|web/p0\" --nflog-group 2\n" +
			"[99:0] -A PAL-TW-a -j DROP\nCOMMIT\n")
	}
	var outs [][]byte
	var n atomic.Int64
	u := &unsampledCounter{save: func(context.Context) ([][]byte, error) { return outs, nil }, counters: &n}
	ctx := context.Background()
	if got := u.Total(ctx); got != 0 {
		t.Fatalf("no counter rule: %d", got)
	}
	n.Store(1)
	for _, step := range []struct {
		offered, sampled int
		hash             string
		want             int64
	}{
		{10, 10, "a", 0},  // all sampled
		{40, 20, "a", 20}, // a burst: 20 of 30 more skipped by the limit
		{45, 25, "a", 20}, // quiet: all sampled
		{3, 1, "b", 22},   // the chain rewritten: counters restart, counted whole
	} {
		outs = [][]byte{save(step.offered, step.sampled, step.hash)}
		if got := u.Total(ctx); got != step.want {
			t.Fatalf("after %+v: unsampled %d, want %d", step, got, step.want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
