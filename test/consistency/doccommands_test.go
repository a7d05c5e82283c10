package consistency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-dev/palisade/test/assets"
)

var update = flag.Bool("update", false, "rewrite the golden files of the documented commands under testdata/doccommands")

// goldenDir holds one golden file per offline CLI command of the documentation.
const goldenDir = "testdata/doccommands"

// offlineSubcommands are the kubectl palisade commands that need no cluster: this test runs every
// documented use of them and compares the output whole with a golden file.
var offlineSubcommands = []string{"lint", "convert", "trace", "matrix", "completion"}

// redirects maps a file a documented command writes to outside the repository onto a file of the
// test's own, so that the command runs as written otherwise.
var redirects = map[string]string{
	"/etc/bash_completion.d/kubectl-palisade": "kubectl-palisade.bash",
}

// TestDocCommandsAreRun holds every shell command of the fenced code blocks of README.md and
// docs/*.md to one of: (a) an offline kubectl palisade command, run here through kubectl's plugin
// mechanism with the built kubectl-palisade, its output compared whole with a golden file; (b) a
// command another test, CI step or the demo runs (allowedCommands, each runner checked to exist),
// or one this package runs against an API server (TestDocClusterCommands); (c) a go test -bench
// measurement (or a go test -c build of a test binary and its -test.bench run) whose benchmarks
// exist in the package it names; (d) one of the few commands no test
// machine can run (notRun, each with its reason). Anything else fails, naming the file and line.
func TestDocCommandsAreRun(t *testing.T) {
	cmds := docCommands(t)
	if len(cmds) < 20 {
		t.Fatalf("found %d documented commands: the extraction is broken", len(cmds))
	}
	documented := map[[2]string]bool{}
	for _, c := range cmds {
		documented[[2]string{c.file, c.text}] = true
	}
	known := map[[2]string]bool{}
	for _, a := range allowedCommands {
		checkRunner(t, a.by, a.file+": "+a.command)
		known[[2]string{a.file, a.command}] = true
	}
	for _, c := range clusterCommands {
		checkRunner(t, byThisPackage, c.file+": "+c.command)
		known[[2]string{c.file, c.command}] = true
	}
	for _, n := range notRun {
		if n.reason == "" {
			t.Errorf("notRun %s: %q has no reason", n.file, n.command)
		}
		known[[2]string{n.file, n.command}] = true
	}
	for k := range known {
		if !documented[k] {
			t.Errorf("the allowlist names %s: %q, which no fenced block of that document holds: remove or update the entry", k[0], k[1])
		}
	}

	var offline []docCommand
	for _, c := range cmds {
		switch {
		case known[[2]string{c.file, c.text}]:
		case isOfflineCLI(c.text):
			offline = append(offline, c)
		case isBenchmark(c.text):
			checkBenchmark(t, c, cmds)
		default:
			t.Errorf("%s: %q is run by no test: run it in test/consistency (offline kubectl palisade commands are run automatically), "+
				"or add it to allowedCommands naming what runs it", c.where(), c.text)
		}
	}
	if len(offline) < 8 {
		t.Fatalf("found %d offline kubectl palisade commands: the extraction is broken", len(offline))
	}

	bin := toolDir(t)
	wanted := map[string]bool{}
	for _, c := range offline {
		name := goldenName(c.text)
		if wanted[name] {
			continue // the same command in another document: one golden file
		}
		wanted[name] = true
		t.Run(name, func(t *testing.T) {
			got := runDocCommand(t, bin, c)
			path := filepath.Join(goldenDir, name+".golden")
			if *update {
				if err := os.MkdirAll(goldenDir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%s: %v (run go test ./test/consistency -run TestDocCommandsAreRun -update)", c.where(), err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: the output of %q differs from %s (run with -update if the change is meant):\n%s",
					c.where(), c.text, path, firstDifference(got, want))
			}
		})
	}
	goldens, err := filepath.Glob(filepath.Join(goldenDir, "*.golden"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range goldens {
		name := strings.TrimSuffix(filepath.Base(g), ".golden")
		if !wanted[name] {
			if *update {
				if err := os.Remove(g); err != nil {
					t.Fatal(err)
				}
				continue
			}
			t.Errorf("%s belongs to no documented command: remove it (or run with -update)", g)
		}
	}
}

func isOfflineCLI(cmd string) bool {
	f := strings.Fields(cmd)
	return len(f) >= 3 && f[0] == "kubectl" && f[1] == "palisade" && slices.Contains(offlineSubcommands, f[2])
}

func checkRunner(t *testing.T, r runner, entry string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, r.path))
	if err != nil {
		t.Errorf("%s: its runner %s does not exist: %v", entry, r.path, err)
		return
	}
	if !strings.Contains(string(raw), r.contains) {
		t.Errorf("%s: its runner %s no longer holds %q (%s)", entry, r.path, r.contains, r.what)
	}
}

// benchFlag finds the -bench pattern of a go test command, or the -test.bench pattern of a compiled
// test binary.
var benchFlag = regexp.MustCompile(`(?:^| )-(?:test\.)?bench[ =]('[^']*'|"[^"]*"|\S+)`)

// isBenchmark: a go test -bench run, a go test -c build of a test binary, or a run of such a binary
// with -test.bench.
func isBenchmark(cmd string) bool {
	f := strings.Fields(cmd)
	switch {
	case strings.HasPrefix(cmd, "go test ") && slices.Contains(f, "-c"):
		return true
	case strings.HasPrefix(cmd, "go test "), len(f) > 0 && strings.HasSuffix(f[0], ".test"):
		return benchFlag.MatchString(cmd)
	}
	return false
}

// testBinary returns the output and package of a "go test -c -o BIN PKG" command.
func testBinary(cmd string) (bin, pkg string, ok bool) {
	f := strings.Fields(cmd)
	if !strings.HasPrefix(cmd, "go test ") || !slices.Contains(f, "-c") {
		return "", "", false
	}
	for i, w := range f {
		switch {
		case w == "-o" && i+1 < len(f):
			bin = f[i+1]
		case strings.HasPrefix(w, "./"):
			pkg = w
		}
	}
	return bin, pkg, bin != "" && pkg != ""
}

// checkBenchmark checks a documented benchmark command: every alternative of its -bench pattern
// matches a benchmark of the package it names (for a compiled test binary, the package of the go
// test -c command of the same document that builds it), and a built test binary is run with
// -test.bench by a command of the same document. The measurements themselves are recorded in
// docs/benchmarks.md; running them here would take far longer than the tests.
func checkBenchmark(t *testing.T, c docCommand, all []docCommand) {
	t.Helper()
	if bin, _, ok := testBinary(c.text); ok {
		for _, o := range all {
			if f := strings.Fields(o.text); o.file == c.file && f[0] == bin && benchFlag.MatchString(o.text) {
				return
			}
		}
		t.Errorf("%s: %q builds a test binary that no command of %s runs with -test.bench", c.where(), c.text, c.file)
		return
	}
	var pkg string
	if first := strings.Fields(c.text)[0]; strings.HasSuffix(first, ".test") {
		for _, o := range all {
			if bin, p, ok := testBinary(o.text); ok && o.file == c.file && bin == first {
				pkg = p
			}
		}
		if pkg == "" {
			t.Errorf("%s: no go test -c command of %s builds %s", c.where(), c.file, first)
			return
		}
	}
	for _, f := range strings.Fields(c.text) {
		if pkg == "" && strings.HasPrefix(f, "./") {
			pkg = f
		}
	}
	if pkg == "" {
		t.Errorf("%s: %q names no package (./...)", c.where(), c.text)
		return
	}
	pkg = strings.TrimSuffix(strings.TrimSuffix(pkg, "/..."), "/")
	names := benchmarksIn(t, filepath.Join(root, pkg))
	pattern := strings.Trim(benchFlag.FindStringSubmatch(c.text)[1], `'"`)
	for _, alt := range strings.Split(pattern, "|") {
		top, _, _ := strings.Cut(alt, "/") // sub-benchmark parts name b.Run cases, not functions
		re, err := regexp.Compile(top)
		if err != nil {
			t.Errorf("%s: -bench %q: %v", c.where(), pattern, err)
			return
		}
		if !slices.ContainsFunc(names, re.MatchString) {
			t.Errorf("%s: -bench alternative %q matches no benchmark of %s (it has %v)", c.where(), alt, pkg, names)
		}
	}
}

// benchmarksIn lists the Benchmark functions of the test files of a directory.
func benchmarksIn(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Errorf("%s: no test files (%v)", dir, err)
		return nil
	}
	var names []string
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Benchmark") {
				names = append(names, fn.Name.Name)
			}
		}
	}
	return names
}

var (
	buildOnce sync.Once
	builtDir  string
	buildErr  error
)

// toolDir builds kubectl-palisade and links the envtest kubectl beside it, once per test binary: the
// documented commands run as a user runs them, kubectl finding the plugin on the PATH.
func toolDir(t *testing.T) string {
	t.Helper()
	kubectl := filepath.Join(assets.Require(t), "kubectl")
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "palisade-doccommands-")
		if err != nil {
			buildErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, "kubectl-palisade"), "./cmd/kubectl-palisade")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = errors.New("building kubectl-palisade: " + err.Error() + "\n" + string(out))
			return
		}
		if err := os.Symlink(kubectl, filepath.Join(dir, "kubectl")); err != nil {
			buildErr = err
			return
		}
		builtDir = dir
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if builtDir != "" {
		_ = os.RemoveAll(builtDir)
	}
	os.Exit(code)
}

// runDocCommand runs one documented command with bash from the repository root and returns the
// transcript: the command, its output (stdout and stderr as they interleave), the content of any
// file it writes through a redirect, and its exit status. An exit status other than 0 or 1 (usage
// errors, unreadable files) fails the test: the documentation shows a command that does not work.
func runDocCommand(t *testing.T, bin string, c docCommand) []byte {
	t.Helper()
	text := c.text
	scratch := t.TempDir()
	var written []string
	for from, to := range redirects {
		if strings.Contains(text, from) {
			text = strings.ReplaceAll(text, from, filepath.Join(scratch, to))
			written = append(written, filepath.Join(scratch, to))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	sh := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", text)
	sh.Dir = root
	sh.WaitDelay = 5 * time.Second
	sh.Env = []string{"PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"HOME=" + scratch, "KUBECONFIG=" + filepath.Join(scratch, "no-cluster"), "LANG=C"}
	var out bytes.Buffer
	sh.Stdout, sh.Stderr = &out, &out
	err := sh.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("%s: running %q: %v", c.where(), c.text, err)
	}
	if code != 0 && code != 1 {
		t.Fatalf("%s: %q exits %d (0 and 1 are answers, anything else is a broken command):\n%s", c.where(), c.text, code, out.String())
	}
	var b bytes.Buffer
	b.WriteString("$ " + c.text + "\n")
	b.Write(out.Bytes())
	for _, w := range written {
		raw, err := os.ReadFile(w)
		if err != nil {
			t.Fatalf("%s: %q did not write %s: %v", c.where(), c.text, w, err)
		}
		b.WriteString("--- written to " + filepath.Base(w) + "\n")
		b.Write(raw)
	}
	b.WriteString("[exit status " + strconv.Itoa(code) + "]\n")
	return b.Bytes()
}

// goldenName is a file name for a command: readable, and unique by a hash of the whole text.
func goldenName(cmd string) string {
	sum := sha256.Sum256([]byte(cmd))
	var b strings.Builder
	for _, r := range strings.TrimPrefix(cmd, "kubectl palisade ") {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	return strings.Trim(b.String(), "-") + "-" + hex.EncodeToString(sum[:4])
}

// firstDifference shows the first differing line of two outputs.
func firstDifference(got, want []byte) string {
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  got:  " + gl + "\n  want: " + wl
		}
	}
	return "(same lines, different bytes)"
}
