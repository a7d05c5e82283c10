package webhookintegration

import (
	"testing"
	"time"
)

// The benchmark's report is only as good as its arithmetic; these check it on samples small enough
// to work out by hand.

func TestStatsOf(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- { // unsorted on purpose
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	s := statsOf(d)
	want := stats{n: 100, p50: 51 * time.Millisecond, p90: 91 * time.Millisecond, p99: 100 * time.Millisecond,
		mean: 50500 * time.Microsecond, max: 100 * time.Millisecond}
	if s != want {
		t.Errorf("statsOf(1..100 ms) = %+v, want %+v", s, want)
	}
	if got := statsOf(nil); got != (stats{}) {
		t.Errorf("statsOf(nil) = %+v, want zero", got)
	}
}

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{ms(7), 7 * time.Millisecond},
		{ms(3, -30, 11, 7, 10, 11), 8500 * time.Microsecond},
		{ms(5, 1, 3), 3 * time.Millisecond},
	} {
		before := append([]time.Duration(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		for i := range before {
			if before[i] != tc.in[i] {
				t.Fatalf("median reordered its input: %v, was %v", tc.in, before)
			}
		}
	}
}

func TestRoundAdded(t *testing.T) {
	r := loadResult{arms: map[string]arm{
		baseline.name:  {roundP99: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}},
		installed.name: {roundP99: []time.Duration{12 * time.Millisecond, 19 * time.Millisecond}},
	}}
	got := r.roundAdded(installed)
	want := []time.Duration{2 * time.Millisecond, -time.Millisecond}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("roundAdded = %v, want %v", got, want)
	}
}

func TestParseSteal(t *testing.T) {
	s, err := parseSteal("cpu  149043 0 35018 150875 639 0 1997 850 7 0")
	if err != nil {
		t.Fatal(err)
	}
	if want := (steal{total: 149043 + 35018 + 150875 + 639 + 1997 + 850, steal: 850}); s != want {
		t.Errorf("parseSteal = %+v, want %+v (guest time is already in user)", s, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 4 5 6 x 8"} {
		if _, err := parseSteal(bad); err == nil {
			t.Errorf("parseSteal(%q) gave no error", bad)
		}
	}
	if _, err := readSteal(); err != nil {
		t.Errorf("reading this machine's /proc/stat: %v", err)
	}
}
