package imagetest

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/palisade-dev/palisade/hack/imagebuild/images"
)

const (
	version  = "v9.9.9-imagetest"
	revision = "0123456789abcdef"
	epoch    = "1700000000"
	created  = "2023-11-14T22:13:20Z" // epoch in RFC 3339
)

var repoRoot = filepath.Join("..", "..", "..")

// command runs name with args, bounded by timeout, and returns its combined output. WaitDelay
// bounds the wait for the output pipes too: a child that outlives the command and keeps them open
// cannot hang the test.
func command(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s %v: no exit within %s: %w", name, args, timeout, err)
	}
	return out.String(), err
}

func requirePrerequisites(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the image test runs the images' binaries in a chroot and needs root: sudo -E env PATH=\"$PATH\" make test-images")
	}
	for _, tool := range []string{"make", "go", "apt-get", "apt-cache", "dpkg-deb", "chroot", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: the image test needs make, Go, Debian's apt and dpkg, coreutils and util-linux (apt-get install make apt dpkg coreutils util-linux)", tool)
		}
	}
}

// makeImages runs `make images` into dir and returns the manifest digests of the two layouts.
func makeImages(t *testing.T, dir string) map[string]v1.Hash {
	t.Helper()
	start := time.Now()
	out, err := command(t, 20*time.Minute, append(os.Environ(), "SOURCE_DATE_EPOCH="+epoch),
		"make", "-C", repoRoot, "images", "IMAGES_DIR="+dir, "IMAGE_VERSION="+version, "IMAGE_REVISION="+revision)
	t.Logf("make images (%s):\n%s", time.Since(start).Round(time.Second), out)
	if err != nil {
		t.Fatalf("make images: %v", err)
	}
	digests := map[string]v1.Hash{}
	for _, name := range []string{"palisade-controller", "palisade-enforcer"} {
		img := readLayout(t, filepath.Join(dir, name+".oci"), name+":"+version)
		d, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		digests[name] = d
	}
	return digests
}

// readLayout opens the single image of an OCI layout and checks its tag.
func readLayout(t *testing.T, dir, wantRef string) v1.Image {
	t.Helper()
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatalf("opening the layout %s: %v", dir, err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Manifests) != 1 {
		t.Fatalf("%s holds %d manifests, want 1", dir, len(m.Manifests))
	}
	if ref := m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; ref != wantRef {
		t.Errorf("%s: ref.name %q, want %q", dir, ref, wantRef)
	}
	if mt := m.Manifests[0].MediaType; mt != "application/vnd.oci.image.manifest.v1+json" {
		t.Errorf("%s: manifest media type %q", dir, mt)
	}
	img, err := idx.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// extract writes the image's flattened file system into a new directory.
func extract(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, filepath.FromSlash(h.Name))
		if !strings.HasPrefix(path, root+string(filepath.Separator)) {
			t.Fatalf("layer entry %q escapes the root", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, os.FileMode(h.Mode).Perm()|0o700); err != nil {
				t.Fatal(err)
			}
		case tar.TypeSymlink:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(h.Linkname, path); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode).Perm())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyN(f, tr, h.Size); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("layer entry %s has type %c", h.Name, h.Typeflag)
		}
	}
	// Directories were made writable for extraction; the controller's non-root user must be able
	// to enter them.
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

func configOf(t *testing.T, img v1.Image) *v1.ConfigFile {
	t.Helper()
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return cf
}

func checkLabels(t *testing.T, cf *v1.ConfigFile, title string) {
	t.Helper()
	for key, want := range map[string]string{
		"org.opencontainers.image.title":    title,
		"org.opencontainers.image.version":  version,
		"org.opencontainers.image.source":   "https://github.com/palisade-dev/palisade",
		"org.opencontainers.image.revision": revision,
		"org.opencontainers.image.created":  created,
		"org.opencontainers.image.licenses": "Apache-2.0",
	} {
		if got := cf.Config.Labels[key]; got != want {
			t.Errorf("%s: label %s = %q, want %q", title, key, got, want)
		}
	}
	if cf.OS != "linux" || cf.Architecture == "" || cf.Created.Format(time.RFC3339) != created {
		t.Errorf("%s: platform %s/%s created %v", title, cf.OS, cf.Architecture, cf.Created)
	}
}

// inImage runs args inside a chroot of root, in a new network namespace (unshare --net) so that
// nothing run from the image can touch the machine's own rules.
func inImage(t *testing.T, root, userspec string, env []string, args ...string) string {
	t.Helper()
	// The image's environment (its PATH) is the chroot's; the host's tools are named by their path.
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Fatal(err)
	}
	cmdArgs := []string{"--net", chroot}
	if userspec != "" {
		cmdArgs = append(cmdArgs, "--userspec="+userspec)
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal(err)
	}
	out, err := command(t, time.Minute, env, unshare, append(append(cmdArgs, root), args...)...)
	if err != nil {
		t.Errorf("%v in the image: %v\n%s", args, err, out)
	}
	return out
}

// isStatic reports whether the ELF file needs no dynamic loader.
func isStatic(t *testing.T, path string) bool {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false
		}
	}
	return true
}

func TestImages(t *testing.T) {
	requirePrerequisites(t)
	dir := t.TempDir()
	first := makeImages(t, dir)

	t.Run("controller", func(t *testing.T) {
		img := readLayout(t, filepath.Join(dir, "palisade-controller.oci"), "palisade-controller:"+version)
		cf := configOf(t, img)
		if !slices.Equal(cf.Config.Entrypoint, []string{"/palisade-controller"}) {
			t.Errorf("entrypoint %v", cf.Config.Entrypoint)
		}
		if cf.Config.User != images.ControllerUser {
			t.Errorf("user %q, want the numeric non-root %s", cf.Config.User, images.ControllerUser)
		}
		checkLabels(t, cf, "palisade-controller")
		root := extract(t, img)
		if _, err := os.Stat(filepath.Join(root, "bin", "sh")); err == nil {
			t.Error("the controller image has a shell: its base must be empty")
		}
		if !isStatic(t, filepath.Join(root, "palisade-controller")) {
			t.Error("palisade-controller is dynamically linked: the empty base has no libc")
		}
		got := inImage(t, root, cf.Config.User, cf.Config.Env, cf.Config.Entrypoint[0], "--version")
		if strings.TrimSpace(got) != "palisade-controller "+version {
			t.Errorf("palisade-controller --version as %s in the image printed %q", cf.Config.User, got)
		}
	})

	t.Run("enforcer", func(t *testing.T) {
		img := readLayout(t, filepath.Join(dir, "palisade-enforcer.oci"), "palisade-enforcer:"+version)
		cf := configOf(t, img)
		if !slices.Equal(cf.Config.Entrypoint, []string{"/palisade-enforcer"}) {
			t.Errorf("entrypoint %v", cf.Config.Entrypoint)
		}
		if cf.Config.User != images.EnforcerUser {
			t.Errorf("user %q, want %s: iptables needs uid 0 with NET_ADMIN", cf.Config.User, images.EnforcerUser)
		}
		if got := cf.Config.Labels[images.CapabilitiesLabel]; got != "NET_ADMIN,NET_RAW" {
			t.Errorf("label %s = %q", images.CapabilitiesLabel, got)
		}
		checkLabels(t, cf, "palisade-enforcer")
		layers, err := img.Layers()
		if err != nil || len(layers) != 2 {
			t.Fatalf("%d layers (%v), want the Debian packages and the binary", len(layers), err)
		}
		root := extract(t, img)
		packages, err := os.ReadFile(filepath.Join(root, "usr/share/palisade/packages.txt"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"iptables=", "ipset=", "conntrack=", "libc6=", "libnftnl11=", "libipset13="} {
			if !strings.Contains(string(packages), p) {
				t.Errorf("packages.txt lacks %s:\n%s", p, packages)
			}
		}
		if got := inImage(t, root, "", cf.Config.Env, "/palisade-enforcer", "--version"); strings.TrimSpace(got) != "palisade-enforcer version "+version {
			t.Errorf("palisade-enforcer --version in the image printed %q", got)
		}
		// Each tool loads from the image's libraries alone: a missing one fails here.
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"iptables", "--version"}, "(nf_tables)"},
			{[]string{"iptables-save", "--version"}, "iptables-save v"},
			{[]string{"iptables-restore", "--version"}, "iptables-restore v"},
			{[]string{"ip6tables", "--version"}, "(nf_tables)"},
			{[]string{"ipset", "version"}, "ipset v"},
			{[]string{"conntrack", "--version"}, "conntrack v"},
		} {
			if got := inImage(t, root, "", cf.Config.Env, tc.args...); !strings.Contains(got, tc.want) {
				t.Errorf("%v in the image printed %q, want %q", tc.args, got, tc.want)
			}
		}
	})

	// The same commit, packages and SOURCE_DATE_EPOCH give the same images.
	again := makeImages(t, dir)
	for name, d := range first {
		if again[name] != d {
			t.Errorf("%s built twice: %s then %s", name, d, again[name])
		}
	}
}
