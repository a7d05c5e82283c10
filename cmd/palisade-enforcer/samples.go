package main

import (
	"bufio"
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/palisade-dev/palisade/enforcer/desired"
	"github.com/palisade-dev/palisade/enforcer/syncer"
)

// Observation samples new connections with rate-limited NFLOG rules (pkg/render): a busy node loses
// samples, never packets. The kernel's `-m limit` skips are invisible to user space, so without more
// the NodeReport could not say that its counts are lower bounds. The smallest honest mechanism: next
// to every rate-limited observation rule the enforcer puts the same matches without the limit and
// without a target (a counter, it decides nothing), and at report time reads both counters;
// offered - sampled connections were not sampled and are added to the report's droppedSamples.
//
// The counter rule replaces the sample rule's comment marker "Palisade observe: " by
// offeredMarker, of the same length, so a comment the renderer cut to the kernel's limit still fits.
const offeredMarker = "Palisade offered: "

var (
	limitRE      = regexp.MustCompile(` -m limit --limit \S+( --limit-burst \d+)?`)
	nflogGroupRE = regexp.MustCompile(` -j NFLOG .*--nflog-group (\d+)$`)
	savedRuleRE  = regexp.MustCompile(`^\[(\d+):\d+\] -A (\S+) (.*)$`)
)

// offeredRule returns the counter rule of a rate-limited observation sample rule on group, false
// for any other rule.
func offeredRule(rule string, group uint16) (string, bool) {
	m := nflogGroupRE.FindStringSubmatchIndex(rule)
	if m == nil || rule[m[2]:m[3]] != strconv.Itoa(int(group)) || !limitRE.MatchString(rule) ||
		!strings.Contains(rule, `"Palisade observe: `) {
		return "", false
	}
	r := limitRE.ReplaceAllString(rule[:m[0]], "")
	return strings.Replace(r, `"Palisade observe: `, `"`+offeredMarker, 1), true
}

// withOfferedCounters wraps a desired state: every rate-limited observation rule on group gets its
// counter rule just before it. counters is set to how many there are, so the reader skips
// iptables-save when there is nothing to count.
func withOfferedCounters(next func(context.Context) (desired.Ruleset, error), group uint16, counters *atomic.Int64) func(context.Context) (desired.Ruleset, error) {
	return func(ctx context.Context) (desired.Ruleset, error) {
		rs, err := next(ctx)
		if err != nil || group == 0 {
			return rs, err
		}
		n := int64(0)
		for i := range rs.Tables {
			for j := range rs.Tables[i].Chains {
				c := &rs.Tables[i].Chains[j]
				var out []string
				for k, r := range c.Rules {
					if o, ok := offeredRule(r, group); ok {
						if out == nil {
							out = append(make([]string, 0, len(c.Rules)+4), c.Rules[:k]...)
						}
						out = append(out, o)
						n++
					}
					if out != nil {
						out = append(out, r)
					}
				}
				if out != nil {
					c.Rules = out
				}
			}
		}
		counters.Store(n)
		return rs, nil
	}
}

// unsampledCounter reads the counters of the offered and sample rules and keeps the running total
// of connections offered but not sampled since the enforcer started. Counters restart when the
// syncer rewrites a chain: a counter seen lower than before (or for the first time) counts from 0.
type unsampledCounter struct {
	save     func(ctx context.Context) ([][]byte, error)
	counters *atomic.Int64

	mu                    sync.Mutex
	lastOffered, lastSeen map[string]uint64
	offered, sampled      uint64
}

// Total reads the counters now and returns the connections not sampled since the start; a failed
// read returns the last total (a lower bound, as every count of the report).
func (u *unsampledCounter) Total(ctx context.Context) int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.counters.Load() > 0 {
		if outs, err := u.save(ctx); err == nil {
			u.add(outs)
		}
	}
	if u.sampled > u.offered {
		return 0
	}
	return int64(u.offered - u.sampled)
}

func (u *unsampledCounter) add(outs [][]byte) {
	offered, sampled := map[string]uint64{}, map[string]uint64{}
	for _, out := range outs {
		sc := bufio.NewScanner(bytes.NewReader(out))
		sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
		pending, pendingChain := "", ""
		for sc.Scan() {
			m := savedRuleRE.FindStringSubmatch(sc.Text())
			if m == nil {
				pending = ""
				continue
			}
			pkts, _ := strconv.ParseUint(m[1], 10, 64)
			key := m[2] + " " + m[3]
			switch {
			case strings.Contains(m[3], offeredMarker):
				offered[key] = pkts
				pending, pendingChain = key, m[2]
				continue
			case pending != "" && pendingChain == m[2]:
				sampled[pending] = pkts // the sample rule right after its counter
			}
			pending = ""
		}
	}
	u.offered += deltas(u.lastOffered, offered)
	u.sampled += deltas(u.lastSeen, sampled)
	u.lastOffered, u.lastSeen = offered, sampled
}

// deltas sums how much each counter grew since last; a new or restarted counter counts whole.
func deltas(last, now map[string]uint64) uint64 {
	var d uint64
	for k, v := range now {
		if old, ok := last[k]; ok && v >= old {
			d += v - old
		} else {
			d += v
		}
	}
	return d
}

// saveFilterCounters reads the filter table with counters, every family.
func saveFilterCounters(fams []syncer.Family) func(ctx context.Context) ([][]byte, error) {
	return func(ctx context.Context) ([][]byte, error) {
		outs := make([][]byte, 0, len(fams))
		for _, f := range fams {
			out, err := f.Tables.SaveCounters(ctx, "filter")
			if err != nil {
				return nil, err
			}
			outs = append(outs, out)
		}
		return outs, nil
	}
}
