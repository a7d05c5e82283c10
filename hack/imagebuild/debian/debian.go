package debian

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// commandTimeout bounds each apt or dpkg command: a stuck mirror fails the build instead of
// hanging it.
const commandTimeout = 5 * time.Minute

// Package is one Debian package at the version apt would install.
type Package struct {
	Name, Version, Architecture string
}

// String is name=version, as apt-get install takes it.
func (p Package) String() string { return p.Name + "=" + p.Version }

// debFile is the file name apt-get download gives the package (the epoch's colon escaped).
func (p Package) debFile() string {
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"), p.Architecture)
}

// Require fails with what to install when apt-get, apt-cache or dpkg-deb is missing.
func Require() error {
	var missing []string
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s not found: the enforcer image is made of Debian packages fetched with the build machine's apt; build it on Debian or Ubuntu (apt-get install apt dpkg), or use the Dockerfile", strings.Join(missing, ", "))
	}
	return nil
}

// Resolve lists names and every package they depend on (Depends and Pre-Depends, recursively),
// each at its candidate version, sorted by name, as the build machine's package lists say.
func Resolve(ctx context.Context, names []string) ([]Package, error) {
	if err := Require(); err != nil {
		return nil, err
	}
	args := append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
		"--no-breaks", "--no-replaces", "--no-enhances"}, names...)
	out, err := run(ctx, "", "apt-cache", args...)
	if err != nil {
		return nil, fmt.Errorf("resolving the dependencies of %v (run 'apt-get update' first): %w", names, err)
	}
	all := ParseDepends(out)
	out, err = run(ctx, "", "apt-cache", append([]string{"show", "--no-all-versions"}, all...)...)
	if err != nil {
		return nil, fmt.Errorf("reading the candidate versions of %v: %w", all, err)
	}
	pkgs, err := ParseShow(out)
	if err != nil {
		return nil, err
	}
	if len(pkgs) != len(all) {
		return nil, fmt.Errorf("apt-cache show described %d packages of the %d resolved (%v)", len(pkgs), len(all), all)
	}
	return pkgs, nil
}

// packageName is a Debian package name (Debian Policy 5.6.1), with apt's :arch for a foreign one.
var packageName = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$`)

// ParseDepends reads the package names out of `apt-cache depends --recurse` output: the lines that
// do not start with a space; virtual packages, in angle brackets, are dropped (apt-cache lists the
// real packages that provide them). Sorted, without duplicates.
func ParseDepends(out string) []string {
	seen := map[string]bool{}
	for line := range strings.SplitSeq(out, "\n") {
		name := strings.TrimSpace(line)
		if strings.HasPrefix(line, " ") || !packageName.MatchString(name) {
			continue // a dependency line, a virtual package (<name>) or not a package name
		}
		seen[name] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseShow reads the Package, Version and Architecture fields of each stanza of
// `apt-cache show` output, sorted by name. A stanza without one of them is an error naming it.
func ParseShow(out string) ([]Package, error) {
	var pkgs []Package
	for i, stanza := range strings.Split(strings.TrimSpace(out), "\n\n") {
		if strings.TrimSpace(stanza) == "" {
			continue
		}
		var p Package
		for line := range strings.SplitSeq(stanza, "\n") {
			key, val, ok := strings.Cut(line, ": ")
			if !ok || strings.HasPrefix(line, " ") {
				continue
			}
			switch key {
			case "Package":
				p.Name = strings.TrimSpace(val)
			case "Version":
				p.Version = strings.TrimSpace(val)
			case "Architecture":
				p.Architecture = strings.TrimSpace(val)
			}
		}
		if p.Name == "" || p.Version == "" || p.Architecture == "" {
			return nil, fmt.Errorf("apt-cache show stanza %d lacks Package, Version or Architecture: %q", i+1, firstLine(stanza))
		}
		pkgs = append(pkgs, p)
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	return pkgs, nil
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// Download makes sure every package's .deb is in cache, fetching the missing ones with
// `apt-get download`, and returns their paths in the order of pkgs.
func Download(ctx context.Context, cache string, pkgs []Package) ([]string, error) {
	if err := Require(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return nil, fmt.Errorf("the package cache: %w", err)
	}
	var missing []string
	paths := make([]string, len(pkgs))
	for i, p := range pkgs {
		paths[i] = filepath.Join(cache, p.debFile())
		if _, err := os.Stat(paths[i]); err != nil {
			missing = append(missing, p.String())
		}
	}
	if len(missing) > 0 {
		if _, err := run(ctx, cache, "apt-get", append([]string{"download", "-q"}, missing...)...); err != nil {
			return nil, fmt.Errorf("downloading %v into %s (run 'apt-get update' first): %w", missing, cache, err)
		}
	}
	for i, p := range pkgs {
		if _, err := os.Stat(paths[i]); err != nil {
			return nil, fmt.Errorf("apt-get download left no %s in %s: %w", p.debFile(), cache, err)
		}
	}
	return paths, nil
}

// Unpack extracts each .deb with `dpkg-deb -x` into root, which it creates empty. Maintainer
// scripts are not run: what they would make (alternatives links) is the caller's to add.
func Unpack(ctx context.Context, root string, debs []string) error {
	if err := os.RemoveAll(root); err != nil {
		return fmt.Errorf("clearing %s: %w", root, err)
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", root, err)
	}
	for _, deb := range debs {
		if _, err := run(ctx, "", "dpkg-deb", "-x", deb, root); err != nil {
			return fmt.Errorf("unpacking %s: %w", deb, err)
		}
	}
	return nil
}

func run(ctx context.Context, dir, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	// Not in the environment: no pager, no prompt, the C locale for parsing.
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C", "PAGER=cat")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "", fmt.Errorf("%s %s: no answer within %s: %w", name, strings.Join(args, " "), commandTimeout, err)
		}
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
