package main

import (
	"context"
	"testing"
	"time"
)

func TestBadArguments(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--binary", "x"},
		{"controller"},
		{"controller", "--binary", "x"},
		{"sidecar", "--binary", "x", "--out", "y"},
		{"controller", "--binary", "/nonexistent", "--out", t.TempDir()},
		{"controller", "--binary", "x", "--out", "y", "extra"},
		{"enforcer", "--binary", "/nonexistent", "--out", t.TempDir()},
	} {
		if err := run(context.Background(), args); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}

func TestSourceDate(t *testing.T) {
	for in, want := range map[string]time.Time{"": time.Unix(0, 0).UTC(), "1700000000": time.Unix(1700000000, 0).UTC()} {
		got, err := sourceDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("sourceDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"yesterday", "-1", "1.5"} {
		if _, err := sourceDate(bad); err == nil {
			t.Errorf("sourceDate(%q) accepted", bad)
		}
	}
}
