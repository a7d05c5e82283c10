package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

const (
	// nonRoot is distroless' nonroot user, numeric so that runAsNonRoot can verify it.
	nonRoot = "65532:65532"
	source  = "https://github.com/palisade-dev/palisade"
)

type options struct {
	binary, version, out, revision, work string
	packages                             string
}

func main() {
	if err := runBuild(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func runBuild(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: imagebuild controller|enforcer --binary PATH --version V --out DIR")
	}
	kind := args[0]
	fs := flag.NewFlagSet(kind, flag.ContinueOnError)
	var o options
	fs.StringVar(&o.binary, "binary", "", "the static binary to package (required)")
	fs.StringVar(&o.version, "version", "dev", "image version: the layout's tag and the version label")
	fs.StringVar(&o.out, "out", "", "directory of the OCI image layout to write (replaced; required)")
	fs.StringVar(&o.revision, "revision", "", "source revision for the org.opencontainers.image.revision label")
	fs.StringVar(&o.work, "work", "", "enforcer: directory for the downloaded and unpacked Debian packages (default: a temporary one)")
	fs.StringVar(&o.packages, "packages", strings.Join(enforcerPackages, ","), "enforcer: Debian packages to add, with their dependencies")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if o.binary == "" || o.out == "" {
		return errors.New("--binary and --out are required")
	}
	created, err := sourceDate()
	if err != nil {
		return err
	}
	var s spec
	switch kind {
	case "controller":
		s, err = controllerSpec(o, created)
	case "enforcer":
		s, err = enforcerSpec(o, created)
	default:
		return fmt.Errorf("unknown image %q: want controller or enforcer", kind)
	}
	if err != nil {
		return err
	}
	img, err := s.build()
	if err != nil {
		return err
	}
	if err := writeLayout(o.out, img, s); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s:%s %s -> %s\n", s.name, s.version, digest, o.out)
	return nil
}

// sourceDate is the images' creation time: SOURCE_DATE_EPOCH (reproducible builds) or the epoch,
// never the clock, so that building twice gives the same digest.
func sourceDate() (time.Time, error) {
	v := os.Getenv("SOURCE_DATE_EPOCH")
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", v, err)
	}
	return time.Unix(secs, 0).UTC(), nil
}

// controllerSpec: the static binary on an empty base, as the numeric non-root user, with the few
// files a Go program expects (passwd and group naming the user, a writable-mode /tmp).
func controllerSpec(o options, created time.Time) (spec, error) {
	bin, err := fileEntry(o.binary, "palisade-controller", 0o755)
	if err != nil {
		return spec{}, err
	}
	base := []entry{
		{path: "etc", dir: true, mode: 0o755},
		{path: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{path: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{path: "home", dir: true, mode: 0o755},
		{path: "home/nonroot", dir: true, mode: 0o700, uid: 65532, gid: 65532},
		{path: "tmp", dir: true, mode: 0o1777},
	}
	return spec{
		name: "palisade-controller", version: o.version, revision: o.revision, source: source,
		title:      "palisade-controller",
		descr:      "Palisade control plane: admission webhooks, their certificate, the rollout operator",
		user:       nonRoot,
		entrypoint: []string{"/palisade-controller"},
		env:        []string{"PATH=/"},
		created:    created,
		layers:     [][]entry{base, {bin}},
	}, nil
}

// enforcerSpec: the Debian packages (iptables, ipset, conntrack and their libraries) in one layer,
// the binary in another. It runs as root: iptables needs uid 0 with NET_ADMIN and NET_RAW.
func enforcerSpec(o options, created time.Time) (spec, error) {
	bin, err := fileEntry(o.binary, "palisade-enforcer", 0o755)
	if err != nil {
		return spec{}, err
	}
	work := o.work
	if work == "" {
		if work, err = os.MkdirTemp("", "palisade-imagebuild-"); err != nil {
			return spec{}, err
		}
		defer os.RemoveAll(work)
	}
	pkgs, err := resolveDependencies(strings.Split(o.packages, ","))
	if err != nil {
		return spec{}, err
	}
	root, versions, err := unpackPackages(work, pkgs)
	if err != nil {
		return spec{}, err
	}
	if err := checkTools(root); err != nil {
		return spec{}, err
	}
	// Documentation, manuals and translations are not needed to run the tools.
	skip := func(rel string) bool {
		for _, p := range []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", "usr/share/bug"} {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return true
			}
		}
		return false
	}
	system, err := treeEntries(root, skip)
	if err != nil {
		return spec{}, err
	}
	for link, target := range iptablesAlternatives {
		if _, err := os.Lstat(filepath.Join(root, link)); err == nil {
			continue // the package ships it already
		}
		system = append(system, entry{path: link, linkname: target, mode: 0o777})
	}
	system = append(system,
		entry{path: "tmp", dir: true, mode: 0o1777},
		entry{path: "run", dir: true, mode: 0o755},
		entry{path: "usr/share/palisade", dir: true, mode: 0o755},
		entry{path: "usr/share/palisade/packages.txt", mode: 0o644, data: []byte(strings.Join(versions, "\n") + "\n")},
	)
	system = withParents(system)
	return spec{
		name: "palisade-enforcer", version: o.version, revision: o.revision, source: source,
		title:      "palisade-enforcer",
		descr:      "Palisade node enforcer: iptables, ipset and conntrack programming of each node",
		user:       "0:0",
		entrypoint: []string{"/palisade-enforcer"},
		env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		created:    created,
		layers:     [][]entry{system, {bin}},
	}, nil
}

// withParents adds the missing parent directories of entries, so that every path's directory is
// in the layer with a known mode.
func withParents(entries []entry) []entry {
	have := map[string]bool{}
	for _, e := range entries {
		have[e.path] = true
	}
	for _, e := range entries {
		for dir := filepath.Dir(e.path); dir != "." && dir != "/"; dir = filepath.Dir(dir) {
			if !have[dir] {
				have[dir] = true
				entries = append(entries, entry{path: dir, dir: true, mode: 0o755})
			}
		}
	}
	return entries
}
