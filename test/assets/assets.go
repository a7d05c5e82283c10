package assets

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const (
	// KubeVersion is the Kubernetes release whose binaries tests run against;
	// it must match KUBE_VERSION in hack/envtest-bins.sh.
	KubeVersion = "1.37.1"

	// EnvVar names a directory holding the binaries, as in controller-runtime.
	EnvVar = "KUBEBUILDER_ASSETS"

	// repoModule identifies the repository root's go.mod; hack/kube holds a
	// go.mod of its own, so "the nearest go.mod" is not enough.
	repoModule = "github.com/palisade-dev/palisade"
)

// Binaries lists the executables a usable assets directory must hold.
var Binaries = []string{"etcd", "kube-apiserver", "kubectl"}

// RepoSubdir is the assets directory relative to the repository root for the
// running platform.
func RepoSubdir() string {
	return filepath.Join("bin", "k8s", KubeVersion+"-"+runtime.GOOS+"-"+runtime.GOARCH)
}

// Dir returns the directory holding the envtest binaries: $KUBEBUILDER_ASSETS
// when it holds all of them, else <repo root>/bin/k8s/<version>-<os>-<arch>
// when that does. Otherwise the error says what is missing and how to install
// the binaries.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locating envtest binaries: %w", err)
	}
	return find(os.Getenv(EnvVar), wd)
}

// Require returns Dir or fails the test with Dir's error. It never skips:
// a run without the binaries must not look like a passing run.
func Require(tb testing.TB) string {
	tb.Helper()
	dir, err := Dir()
	if err != nil {
		tb.Fatal(err)
	}
	return dir
}

// find is Dir with its inputs explicit: env is the value of KUBEBUILDER_ASSETS
// and start a directory inside the repository.
func find(env, start string) (string, error) {
	var problems []string
	if env != "" {
		err := check(env)
		if err == nil {
			return env, nil
		}
		problems = append(problems, fmt.Sprintf("%s=%s: %v", EnvVar, env, err))
	}
	root, err := repoRoot(start)
	if err == nil {
		dir := filepath.Join(root, RepoSubdir())
		err = check(dir)
		if err == nil {
			return dir, nil
		}
		problems = append(problems, fmt.Sprintf("%s: %v", dir, err))
	} else {
		problems = append(problems, err.Error())
	}
	return "", errors.New(missingMessage(problems))
}

func missingMessage(problems []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "envtest binaries (%s) for Kubernetes %s not found:\n", strings.Join(Binaries, ", "), KubeVersion)
	for _, p := range problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	fmt.Fprintf(&b, "install them by running `make envtest-bins` in the repository root: it builds them into %s\n", RepoSubdir())
	b.WriteString("from the Go module proxy (several minutes the first time, seconds after). To use an installed\n")
	b.WriteString("etcd >= 3.5 instead of building one (`apt-get install -y etcd-server` gives one on Debian 13\n")
	b.WriteString("or later; Debian 12's 3.4 is too old), run `ETCD=/usr/bin/etcd make envtest-bins`.\n")
	fmt.Fprintf(&b, "Or set %s to a directory that holds all of them.", EnvVar)
	return b.String()
}

// check reports the first binary dir lacks as a regular executable file.
func check(dir string) error {
	for _, name := range Binaries {
		info, err := os.Stat(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no %s", name)
		}
		if err != nil {
			return fmt.Errorf("checking %s: %w", name, err)
		}
		if !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			return fmt.Errorf("%s is not an executable file", name)
		}
	}
	return nil
}

// repoRoot walks up from start to the directory whose go.mod declares the
// Palisade module.
func repoRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("resolving %s: %w", start, err)
	}
	for {
		if mod, err := modulePath(filepath.Join(dir, "go.mod")); err == nil && mod == repoModule {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of module %s in %s or any parent", repoModule, start)
		}
		dir = parent
	}
}

// modulePath returns the module path a go.mod file declares.
func modulePath(goMod string) (string, error) {
	f, err := os.Open(goMod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("reading %s: %w", goMod, err)
	}
	return "", fmt.Errorf("%s declares no module", goMod)
}
