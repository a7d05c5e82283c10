package enforcertest

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

var (
	runID = func() string {
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		return hex.EncodeToString(b)
	}()
	seq atomic.Int64
)

// T is what the helpers need of a test: *testing.T, *testing.B and ginkgo's GinkgoT() all fit.
type T interface {
	Helper()
	Fatalf(format string, args ...any)
	Errorf(format string, args ...any)
	Cleanup(func())
}

// Tools are the commands the kernel tests run.
var Tools = []string{"ip", "iptables-nft-restore", "iptables-nft-save", "iptables-legacy-restore", "iptables-legacy-save", "ipset"}

// Require fails the test unless every tool is installed.
func Require(tb T) {
	tb.Helper()
	for _, tool := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Fatalf("%s not found (%v): apt-get install iptables ipset iproute2", tool, err)
		}
	}
}

// Netns creates a network namespace named pal-<run>-k<n> and removes it when the test ends.
func Netns(tb T) string {
	tb.Helper()
	name, remove := NewNetns(tb)
	tb.Cleanup(remove)
	return name
}

// NewNetns creates a network namespace and returns a function removing it, for benchmarks that need
// a fresh one per iteration. The namespace is also removed when the test ends if remove was not
// called.
func NewNetns(tb T) (name string, remove func()) {
	tb.Helper()
	Require(tb)
	name = "pal-" + runID + "-k" + strconv.FormatInt(seq.Add(1), 10)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil { //nolint:gosec // a name this package made
		tb.Fatalf("creating network namespace %s (run as root): %v: %s", name, err, out)
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			if out, err := exec.Command("ip", "netns", "delete", name).CombinedOutput(); err != nil { //nolint:gosec // a name this package made
				tb.Errorf("deleting network namespace %s: %v: %s", name, err, out)
			}
		})
	}
	tb.Cleanup(remove)
	return name, remove
}

// Run runs a command inside the namespace and returns its output, failing the test on error.
func Run(tb T, ns, stdin string, argv ...string) string {
	tb.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns}, argv...)...) //nolint:gosec // test commands
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s in %s: %v: %s", strings.Join(argv, " "), ns, err, out)
	}
	return string(out)
}

// Save returns the command's output without the "# Generated/Completed" comment lines, which carry
// the time.
func Save(tb T, ns string, argv ...string) string {
	tb.Helper()
	var keep []string
	for _, l := range strings.SplitAfter(Run(tb, ns, "", argv...), "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}
