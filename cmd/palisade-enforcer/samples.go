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
	"github.com/palisade-dev/palisade/pkg/render"
)

// Observation samples new connections with rate-limited NFLOG rules (pkg/render): a busy node loses
// samples, never packets. The kernel's `-m limit` skips are invisible to user space, so the renderer
// puts before every sample rule its counter rule (the same matches, no limit, no target; comment
// starting with render.OfferedCommentPrefix), and at report time the enforcer reads both counters:
// offered - sampled connections were not sampled and are added to the report's droppedSamples.
const offeredMarker = render.OfferedCommentPrefix

var savedRuleRE = regexp.MustCompile(`^\[(\d+):\d+\] -A (\S+) (.*)$`)

// countingOffered wraps a desired state and sets counters to how many counter rules it holds, so
// the reader skips iptables-save when there is nothing to count.
func countingOffered(next func(context.Context) (desired.Ruleset, error), counters *atomic.Int64) func(context.Context) (desired.Ruleset, error) {
	return func(ctx context.Context) (desired.Ruleset, error) {
		rs, err := next(ctx)
		if err != nil {
			return rs, err
		}
		n := int64(0)
		for i := range rs.Tables {
			for _, c := range rs.Tables[i].Chains {
				for _, r := range c.Rules {
					if strings.Contains(r, `"`+offeredMarker) {
						n++
					}
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
