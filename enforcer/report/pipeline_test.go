package report

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/palisade-dev/palisade/enforcer/nflog"
	"github.com/palisade-dev/palisade/enforcer/observe"
	"github.com/palisade-dev/palisade/pkg/engine"
)

var t0 = time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)

// step is one record handed to the pipeline after advancing the clock by wait.
type step struct {
	wait time.Duration
	rec  nflog.Record
}

func TestPipelineCounting(t *testing.T) {
	syn := func(prefix string, sport uint16) step {
		return step{rec: tcpRecord(prefix, ipClient, ipServer, sport, 80)}
	}
	fromOther := func(prefix string, sport uint16) step {
		return step{rec: tcpRecord(prefix, ipOther, ipServer, sport, 80)}
	}
	canary := engine.Canary{guard: {server: true}}
	tests := []struct {
		name    string
		chooser engine.Chooser
		size    int
		steps   []step
		// want are the guard's window counts per generation.
		want     map[int64]observe.Counts
		outcomes map[[2]string]float64
		evicted  float64
	}{
		{
			name:     "SYN retransmissions of one connection count once",
			steps:    []step{syn("SI|prod/server", 40000), {wait: time.Second, rec: syn("SI|prod/server", 40000).rec}, {wait: 3 * time.Second, rec: syn("SI|prod/server", 40000).rec}},
			want:     map[int64]observe.Counts{2: {WouldDeny: 1}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 1, {"shadow", OutcomeRepeat}: 2},
		},
		{
			name:     "new connections (other source ports) each count",
			steps:    []step{syn("SI|prod/server", 40000), syn("SI|prod/server", 40001), syn("SI|prod/server", 40002)},
			want:     map[int64]observe.Counts{2: {WouldDeny: 3}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 3},
		},
		{
			name: "a flow between two pods of the node is counted once on each side, never twice on one",
			// The client's egress is logged (say it had a shadowed egress candidate) and the
			// server's ingress: the guard governs ingress only, so one would-deny.
			steps:    []step{syn("SE|prod/client", 40000), syn("SI|prod/server", 40000)},
			want:     map[int64]observe.Counts{2: {WouldDeny: 1}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 2},
		},
		{
			name:     "allowed by the candidate",
			steps:    []step{fromOther("SI|prod/server", 40000), fromOther("SI|prod/server", 40001)},
			want:     map[int64]observe.Counts{2: {Allowed: 2}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 2},
		},
		{
			name:    "on the canary the candidate's drop counts as denied, and its drop log does not count it again",
			chooser: canary,
			steps: []step{syn("SI|prod/server", 40000), syn("DI|np/prod/guard@candidate", 40000),
				{wait: time.Second, rec: syn("SI|prod/server", 40000).rec}, {wait: time.Second, rec: syn("DI|np/prod/guard@candidate", 40000).rec}},
			want:     map[int64]observe.Counts{2: {Denied: 1}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 1, {"shadow", OutcomeRepeat}: 1, {"drop", OutcomeRepeat}: 2},
		},
		{
			name:     "a drop log whose shadow log was lost (rate limit) counts the denial once",
			chooser:  canary,
			steps:    []step{syn("DI|np/prod/guard@candidate", 40000), syn("SI|prod/server", 40000)},
			want:     map[int64]observe.Counts{2: {Denied: 1}},
			outcomes: map[[2]string]float64{{"drop", OutcomeCounted}: 1, {"shadow", OutcomeRepeat}: 1},
		},
		{
			name:     "the same 5-tuple after the dedupe window is a new connection",
			steps:    []step{syn("SI|prod/server", 40000), {wait: DefaultDedupeWindow + time.Second, rec: syn("SI|prod/server", 40000).rec}},
			want:     map[int64]observe.Counts{2: {WouldDeny: 2}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 2},
		},
		{
			name:     "the dedupe cache is bounded: an evicted connection counts again",
			size:     2,
			steps:    []step{syn("SI|prod/server", 1), syn("SI|prod/server", 2), syn("SI|prod/server", 3), syn("SI|prod/server", 1), syn("SI|prod/server", 3)},
			want:     map[int64]observe.Counts{2: {WouldDeny: 4}},
			outcomes: map[[2]string]float64{{"shadow", OutcomeCounted}: 4, {"shadow", OutcomeRepeat}: 1},
			evicted:  2,
		},
		{
			name:     "other prefixes are not counted",
			steps:    []step{syn("LI0|np/prod/guard", 40000), syn("garbage", 40001)},
			want:     map[int64]observe.Counts{},
			outcomes: map[[2]string]float64{{"unknown", OutcomeBadPrefix}: 2},
		},
		{
			name:     "an unevaluable flow (ICMP without type) is counted as such",
			steps:    []step{{rec: nflog.Record{Prefix: "SI|prod/server", Packet: nflog.Packet{Src: ipClient, Dst: ipServer, Protocol: 1}}}},
			want:     map[int64]observe.Counts{},
			outcomes: map[[2]string]float64{{"shadow", OutcomeUnevaluable}: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(t0)
			obs := observe.New(fixtureEngine(t), fixtureGens, observe.Limits{}, nil)
			m := NewMetrics(nil)
			ch := tt.chooser
			p := NewPipeline(PipelineConfig{Observer: obs, Clock: clk, Metrics: m, DedupeSize: tt.size,
				Chooser: func() engine.Chooser {
					if ch == nil {
						return engine.EnforcedOnly
					}
					return ch
				}})
			for _, s := range tt.steps {
				clk.SetTime(clk.Now().Add(s.wait))
				_ = p.Handle(&s.rec)
			}
			got := map[int64]observe.Counts{}
			for _, ps := range obs.Summary().Policies {
				if ps.Policy != guard {
					t.Errorf("counts for %v", ps.Policy)
				}
				for _, g := range ps.Window {
					got[g.Generation] = g.Counts
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("guard's window counts (-want +got):\n%s", d)
			}
			for _, k := range []string{"shadow", "drop", "unknown"} {
				for _, o := range []string{OutcomeCounted, OutcomeRepeat, OutcomeBadPrefix, OutcomeUnevaluable} {
					if (k == "unknown") != (o == OutcomeBadPrefix) {
						continue
					}
					if got, want := testutil.ToFloat64(m.Samples.WithLabelValues(k, o)), tt.outcomes[[2]string{k, o}]; got != want {
						t.Errorf("samples{%s,%s} = %v, want %v", k, o, got, want)
					}
				}
			}
			if got := testutil.ToFloat64(m.DedupeEvictions); got != tt.evicted {
				t.Errorf("evictions = %v, want %v", got, tt.evicted)
			}
		})
	}
}

// TestPipelineRun consumes a channel until it is closed.
func TestPipelineRun(t *testing.T) {
	obs := observe.New(fixtureEngine(t), fixtureGens, observe.Limits{}, nil)
	p := NewPipeline(PipelineConfig{Observer: obs, Clock: clocktesting.NewFakePassiveClock(t0)})
	ch := make(chan nflog.Record, 3)
	ch <- tcpRecord("SI|prod/server", ipClient, ipServer, 1, 80)
	ch <- tcpRecord("SI|prod/server", ipClient, ipServer, 2, 80)
	ch <- tcpRecord("bad", ipClient, ipServer, 3, 80)
	close(ch)
	p.Run(context.Background(), ch)
	if got := obs.Summary().Policies[0].WindowCounts(2).WouldDeny; got != 2 {
		t.Errorf("would-deny = %d, want 2", got)
	}
}
