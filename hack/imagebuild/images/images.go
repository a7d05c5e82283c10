package images

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/palisade-dev/palisade/hack/imagebuild/debian"
	"github.com/palisade-dev/palisade/hack/imagebuild/ociimage"
)

const (
	// ControllerUser is distroless' nonroot user, numeric so that runAsNonRoot can verify it.
	ControllerUser = "65532:65532"
	// EnforcerUser is root: iptables, ipset and conntrack need uid 0 with NET_ADMIN and NET_RAW.
	EnforcerUser = "0:0"
	// EnforcerCapabilities are what the enforcer container must be granted (the chart's DaemonSet
	// adds them instead of running it privileged); the image carries them as a label.
	EnforcerCapabilities = "NET_ADMIN,NET_RAW"
	// CapabilitiesLabel is the image label that lists EnforcerCapabilities.
	CapabilitiesLabel = "dev.palisade.image.capabilities"

	source = "https://github.com/palisade-dev/palisade"
)

// EnforcerPackages are the Debian packages whose tools the enforcer runs; their dependencies are
// resolved by apt.
var EnforcerPackages = []string{"iptables", "ipset", "conntrack"}

// enforcerTools must exist in the unpacked packages (Debian 12 puts them all under /usr/sbin).
var enforcerTools = []string{"usr/sbin/xtables-nft-multi", "usr/sbin/ipset", "usr/sbin/conntrack"}

// iptablesAlternatives are the links iptables' postinst makes with update-alternatives (which
// `dpkg-deb -x` does not run): the nf_tables backend, Debian's default and the host's.
var iptablesAlternatives = []string{
	"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore",
}

// skipped are the parts of the Debian packages not needed to run the tools.
var skipped = []string{"usr/share/doc", "usr/share/man", "usr/share/info", "usr/share/locale", "usr/share/lintian", "usr/share/bug"}

// Options are the inputs of a build: the same options and the same files give the same digest.
type Options struct {
	Binary       string    // the static binary to package
	Version      string    // the layout's tag and the version label
	Revision     string    // source revision for the revision label; empty: no label
	Architecture string    // GOARCH the binary was built for
	Created      time.Time // the creation time of the image and of every file in it
	// Enforcer only: the directory of downloaded .deb files, kept between builds.
	DebCache string
	// Enforcer only: the Debian packages to add with their dependencies (default EnforcerPackages).
	Packages []string
}

// Build builds the image kind ("controller" or "enforcer") and writes it as an OCI image layout
// into out, replacing what is there. It returns the image's manifest digest.
func Build(ctx context.Context, kind string, o Options, out string) (v1.Hash, error) {
	var s ociimage.Spec
	var err error
	switch kind {
	case "controller":
		s, err = Controller(o)
	case "enforcer":
		s, err = Enforcer(ctx, o)
	default:
		return v1.Hash{}, fmt.Errorf("unknown image %q: want controller or enforcer", kind)
	}
	if err != nil {
		return v1.Hash{}, err
	}
	img, err := ociimage.Build(s)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := ociimage.WriteLayout(out, img, s); err != nil {
		return v1.Hash{}, err
	}
	d, err := img.Digest()
	if err != nil {
		return v1.Hash{}, fmt.Errorf("%s digest: %w", s.Name, err)
	}
	return d, nil
}

func (o Options) check() error {
	if o.Binary == "" {
		return fmt.Errorf("no binary given")
	}
	if o.Version == "" {
		return fmt.Errorf("no version given")
	}
	if o.Architecture == "" {
		return fmt.Errorf("no architecture given")
	}
	return nil
}

func labels(o Options, title, description string) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       title,
		"org.opencontainers.image.description": description,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.url":         source,
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.vendor":      "Palisade",
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

// Controller is the controller image: the static binary on an empty base, as the numeric non-root
// user, with the few files a Go program expects (passwd and group naming the user, a /tmp).
func Controller(o Options) (ociimage.Spec, error) {
	if err := o.check(); err != nil {
		return ociimage.Spec{}, fmt.Errorf("controller image: %w", err)
	}
	bin, err := ociimage.File(o.Binary, "palisade-controller", 0o755)
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("controller image: %w", err)
	}
	base := []ociimage.Entry{
		{Path: "etc/passwd", Mode: 0o644, Data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{Path: "etc/group", Mode: 0o644, Data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{Path: "home/nonroot", Dir: true, Mode: 0o700, UID: 65532, GID: 65532},
		{Path: "tmp", Dir: true, Mode: 0o1777},
	}
	return ociimage.Spec{
		Name: "palisade-controller", Version: o.Version, Architecture: o.Architecture,
		User:       ControllerUser,
		Entrypoint: []string{"/palisade-controller"},
		Env:        []string{"PATH=/"},
		Labels: labels(o, "palisade-controller",
			"Palisade control plane: admission webhooks, their certificate, the rollout operator"),
		Created:   o.Created,
		Layers:    [][]ociimage.Entry{base, {bin}},
		CreatedBy: "hack/imagebuild controller",
	}, nil
}

// Enforcer is the enforcer image: the Debian packages (iptables, ipset, conntrack and their
// libraries) in one layer, the binary in another, run as root.
func Enforcer(ctx context.Context, o Options) (ociimage.Spec, error) {
	if err := o.check(); err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	if o.DebCache == "" {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: no Debian package cache directory given")
	}
	bin, err := ociimage.File(o.Binary, "palisade-enforcer", 0o755)
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	names := o.Packages
	if len(names) == 0 {
		names = EnforcerPackages
	}
	pkgs, err := debian.Resolve(ctx, names)
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	for _, p := range pkgs {
		if p.Architecture != "all" && p.Architecture != debianArch(o.Architecture) {
			return ociimage.Spec{}, fmt.Errorf("enforcer image: package %s is for %s, the binary for %s: build on a machine of the image's architecture", p, p.Architecture, o.Architecture)
		}
	}
	debs, err := debian.Download(ctx, o.DebCache, pkgs)
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	root, err := os.MkdirTemp("", "palisade-imagebuild-")
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	defer os.RemoveAll(root)
	if err := debian.Unpack(ctx, root, debs); err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	for _, tool := range enforcerTools {
		if _, err := os.Stat(filepath.Join(root, tool)); err != nil {
			return ociimage.Spec{}, fmt.Errorf("enforcer image: the packages %v hold no %s", names, tool)
		}
	}
	system, err := ociimage.Tree(root, func(rel string) bool {
		for _, p := range skipped {
			if rel == p || strings.HasPrefix(rel, p+"/") {
				return true
			}
		}
		return false
	})
	if err != nil {
		return ociimage.Spec{}, fmt.Errorf("enforcer image: %w", err)
	}
	for _, name := range iptablesAlternatives {
		link := "usr/sbin/" + name
		if _, err := os.Lstat(filepath.Join(root, link)); err == nil {
			continue // the package ships it already
		}
		system = append(system, ociimage.Entry{Path: link, Linkname: "xtables-nft-multi", Mode: 0o777})
	}
	versions := make([]string, len(pkgs))
	for i, p := range pkgs {
		versions[i] = p.String()
	}
	system = append(system,
		ociimage.Entry{Path: "tmp", Dir: true, Mode: 0o1777},
		ociimage.Entry{Path: "run", Dir: true, Mode: 0o755},
		ociimage.Entry{Path: "usr/share/palisade/packages.txt", Mode: 0o644, Data: []byte(strings.Join(versions, "\n") + "\n")},
	)
	l := labels(o, "palisade-enforcer",
		"Palisade node enforcer: programs iptables, ipset and conntrack on each node; run as root with NET_ADMIN and NET_RAW")
	l[CapabilitiesLabel] = EnforcerCapabilities
	return ociimage.Spec{
		Name: "palisade-enforcer", Version: o.Version, Architecture: o.Architecture,
		User:       EnforcerUser,
		Entrypoint: []string{"/palisade-enforcer"},
		Env:        []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		Labels:     l,
		Created:    o.Created,
		Layers:     [][]ociimage.Entry{system, {bin}},
		CreatedBy:  "hack/imagebuild enforcer",
	}, nil
}

// debianArch is Debian's name of a GOARCH.
func debianArch(goarch string) string {
	switch goarch {
	case "arm":
		return "armhf"
	case "386":
		return "i386"
	case "ppc64le":
		return "ppc64el"
	default:
		return goarch // amd64, arm64, s390x, riscv64
	}
}
