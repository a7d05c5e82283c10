package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func standIn(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(p, []byte("\x7fELF stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestControllerSpec(t *testing.T) {
	o := Options{Binary: standIn(t), Version: "v1.2.3", Revision: "abc", Architecture: "arm64", Created: time.Unix(0, 0).UTC()}
	s, err := Controller(o)
	if err != nil {
		t.Fatal(err)
	}
	if s.User != "65532:65532" || s.Entrypoint[0] != "/palisade-controller" || s.Architecture != "arm64" {
		t.Errorf("spec %+v", s)
	}
	if s.Labels["org.opencontainers.image.version"] != "v1.2.3" || s.Labels["org.opencontainers.image.revision"] != "abc" || s.Labels["org.opencontainers.image.created"] != "1970-01-01T00:00:00Z" {
		t.Errorf("labels %v", s.Labels)
	}
	var paths []string
	for _, layer := range s.Layers {
		for _, e := range layer {
			paths = append(paths, e.Path)
		}
	}
	if got := strings.Join(paths, " "); got != "etc/passwd etc/group home/nonroot tmp palisade-controller" {
		t.Errorf("controller image files %q: an empty base, the user's files and the binary", got)
	}
	out := filepath.Join(t.TempDir(), "layout")
	d1, err := Build(context.Background(), "controller", o, out)
	if err != nil {
		t.Fatal(err)
	}
	d2, err := Build(context.Background(), "controller", o, out)
	if err != nil {
		t.Fatal(err)
	}
	if d1 != d2 {
		t.Errorf("built twice: %s then %s", d1, d2)
	}
	o.Version = "v1.2.4"
	if d3, err := Build(context.Background(), "controller", o, out); err != nil || d3 == d1 {
		t.Errorf("another version gives digest %s (%v), the first %s", d3, err, d1)
	}
}

func TestBadOptions(t *testing.T) {
	ok := Options{Binary: standIn(t), Version: "v1", Architecture: "amd64", DebCache: t.TempDir()}
	for name, tc := range map[string]struct {
		kind string
		edit func(*Options)
	}{
		"no binary":        {"controller", func(o *Options) { o.Binary = "" }},
		"missing binary":   {"controller", func(o *Options) { o.Binary = "/nonexistent" }},
		"no version":       {"controller", func(o *Options) { o.Version = "" }},
		"no architecture":  {"enforcer", func(o *Options) { o.Architecture = "" }},
		"no package cache": {"enforcer", func(o *Options) { o.DebCache = "" }},
		"unknown image":    {"sidecar", func(*Options) {}},
	} {
		o := ok
		tc.edit(&o)
		if _, err := Build(context.Background(), tc.kind, o, filepath.Join(t.TempDir(), "out")); err == nil {
			t.Errorf("%s: built", name)
		}
	}
}

// Without apt the enforcer image cannot be built, and the error says what to do.
func TestEnforcerWithoutApt(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	o := Options{Binary: standIn(t), Version: "v1", Architecture: "amd64", DebCache: t.TempDir()}
	_, err := Build(context.Background(), "enforcer", o, filepath.Join(t.TempDir(), "out"))
	if err == nil || !strings.Contains(err.Error(), "apt-get") || !strings.Contains(err.Error(), "Debian") {
		t.Fatalf("enforcer image without apt: %v, want an error naming apt-get and Debian", err)
	}
}
