package images

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// stage is what this test reads of a Dockerfile stage: its base, its last USER and ENTRYPOINT
// (exec form), its RUN commands and its labels.
type stage struct {
	from, user string
	entrypoint []string
	runs       []string
	labels     string
}

// parseDockerfile reads the stages of a Dockerfile by name: instructions joined across line
// continuations, comments dropped. It understands only what Palisade's Dockerfile uses.
func parseDockerfile(t *testing.T, text string) map[string]*stage {
	t.Helper()
	stages := map[string]*stage{}
	var cur *stage
	var logical []string
	var b strings.Builder
	for line := range strings.SplitSeq(text, "\n") {
		trimmed := strings.TrimSpace(line)
		if b.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, "\\"); ok {
			b.WriteString(cont + " ")
			continue
		}
		b.WriteString(trimmed)
		logical = append(logical, b.String())
		b.Reset()
	}
	for i, ins := range logical {
		keyword, args, _ := strings.Cut(ins, " ")
		args = strings.TrimSpace(args)
		switch strings.ToUpper(keyword) {
		case "FROM":
			f := strings.Fields(args)
			if len(f) != 3 || !strings.EqualFold(f[1], "AS") {
				t.Fatalf("Dockerfile instruction %d: FROM %q without a stage name", i+1, args)
			}
			cur = &stage{from: f[0]}
			stages[f[2]] = cur
		case "USER":
			cur.user = args
		case "ENTRYPOINT":
			if err := json.Unmarshal([]byte(args), &cur.entrypoint); err != nil {
				t.Fatalf("Dockerfile instruction %d: ENTRYPOINT %s is not in exec form: %v", i+1, args, err)
			}
		case "RUN":
			cur.runs = append(cur.runs, args)
		case "LABEL":
			cur.labels += args + " "
		case "ARG", "WORKDIR", "COPY", "ENV":
		default:
			t.Fatalf("Dockerfile instruction %d: %s is not understood by this test", i+1, keyword)
		}
	}
	return stages
}

// The Dockerfile's targets build what `make images` builds: same names, users and entrypoints,
// the controller on distroless static, the enforcer on Debian slim with the same packages.
func TestDockerfileMatchesImages(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "..", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	stages := parseDockerfile(t, string(raw))
	o := Options{Binary: standIn(t), Version: "v1", Architecture: "amd64", Created: time.Unix(0, 0)}
	controller, err := Controller(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []struct {
		target, user, base string
		entrypoint         []string
	}{
		{controller.Name, controller.User, "gcr.io/distroless/static-debian12:nonroot", controller.Entrypoint},
		{"palisade-enforcer", EnforcerUser, "debian:${DEBIAN_RELEASE}-slim", []string{"/palisade-enforcer"}},
	} {
		s := stages[want.target]
		if s == nil {
			t.Errorf("the Dockerfile has no target %s (stages %v)", want.target, keys(stages))
			continue
		}
		if s.user != want.user {
			t.Errorf("%s: USER %q, make images builds %q", want.target, s.user, want.user)
		}
		if !slices.Equal(s.entrypoint, want.entrypoint) {
			t.Errorf("%s: ENTRYPOINT %q, make images builds %q", want.target, s.entrypoint, want.entrypoint)
		}
		if s.from != want.base {
			t.Errorf("%s: FROM %s, want %s", want.target, s.from, want.base)
		}
		for _, l := range []string{"org.opencontainers.image.title=\"" + want.target + "\"", "org.opencontainers.image.version=", "org.opencontainers.image.source="} {
			if !strings.Contains(s.labels, l) {
				t.Errorf("%s: no label %s", want.target, l)
			}
		}
	}
	if s := stages["palisade-enforcer"]; s != nil {
		install := strings.Join(s.runs, " ")
		for _, p := range EnforcerPackages {
			if !strings.Contains(install, " "+p) {
				t.Errorf("palisade-enforcer: the Dockerfile does not install %s (RUN %q)", p, install)
			}
		}
		if !strings.Contains(s.labels, CapabilitiesLabel+"=\""+EnforcerCapabilities+"\"") {
			t.Errorf("palisade-enforcer: no label %s=%s", CapabilitiesLabel, EnforcerCapabilities)
		}
	}
	if b := stages["build"]; b == nil || !strings.Contains(strings.Join(b.runs, " "), "CGO_ENABLED=0 go build -trimpath") ||
		!strings.Contains(strings.Join(b.runs, " "), "-X main.version=") {
		t.Error("the build stage does not build static binaries with the version, as make images does")
	}
}

func keys(m map[string]*stage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
