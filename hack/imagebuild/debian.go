package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// enforcerPackages are the Debian packages whose tools the enforcer runs; their library
// dependencies are resolved with apt-cache (resolveDependencies).
var enforcerPackages = []string{"iptables", "ipset", "conntrack"}

// enforcerTools must exist in the unpacked packages, in one of the listed places: Debian 12 packages
// still install some tools under /sbin rather than /usr/sbin.
var enforcerTools = [][]string{
	{"usr/sbin/xtables-nft-multi"},
	{"usr/sbin/ipset", "sbin/ipset"},
	{"usr/sbin/conntrack", "sbin/conntrack"},
}

// iptablesAlternatives are the links update-alternatives makes when iptables is installed (its
// postinst, which `dpkg-deb -x` does not run): the nf_tables backend, Debian's default.
var iptablesAlternatives = map[string]string{
	"usr/sbin/iptables":          "xtables-nft-multi",
	"usr/sbin/iptables-save":     "xtables-nft-multi",
	"usr/sbin/iptables-restore":  "xtables-nft-multi",
	"usr/sbin/ip6tables":         "xtables-nft-multi",
	"usr/sbin/ip6tables-save":    "xtables-nft-multi",
	"usr/sbin/ip6tables-restore": "xtables-nft-multi",
}

// resolveDependencies lists pkgs and every package they depend on (Depends and Pre-Depends,
// recursively), as apt-cache resolves them from the build machine's package lists. Virtual packages
// (<name>) are dropped: apt-cache lists the real packages that provide them.
func resolveDependencies(pkgs []string) ([]string, error) {
	args := append([]string{"depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
		"--no-breaks", "--no-replaces", "--no-enhances"}, pkgs...)
	out, err := run("", "apt-cache", args...)
	if err != nil {
		return nil, fmt.Errorf("resolving the dependencies of %v (install apt and run 'apt-get update'): %w", pkgs, err)
	}
	return parseDepends(out), nil
}

// parseDepends reads the package names out of `apt-cache depends --recurse` output: the lines that
// do not start with a space; virtual packages are in angle brackets.
func parseDepends(out string) []string {
	seen := map[string]bool{}
	for line := range strings.SplitSeq(out, "\n") {
		if line == "" || strings.HasPrefix(line, " ") || strings.HasPrefix(line, "<") {
			continue
		}
		seen[strings.TrimSpace(line)] = true
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// unpackPackages downloads pkgs with `apt-get download` into work/debs and unpacks each with
// `dpkg-deb -x` into work/root, which it returns with "name=version" for every package.
func unpackPackages(work string, pkgs []string) (string, []string, error) {
	debs, root := filepath.Join(work, "debs"), filepath.Join(work, "root")
	if err := os.RemoveAll(root); err != nil {
		return "", nil, err
	}
	for _, d := range []string{debs, root} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", nil, err
		}
	}
	if _, err := run(debs, "apt-get", append([]string{"download"}, pkgs...)...); err != nil {
		return "", nil, fmt.Errorf("downloading %v (run 'apt-get update' first): %w", pkgs, err)
	}
	var versions []string
	for _, p := range pkgs {
		files, err := filepath.Glob(filepath.Join(debs, p+"_*.deb"))
		if err != nil || len(files) == 0 {
			return "", nil, fmt.Errorf("apt-get download left no .deb for %s in %s", p, debs)
		}
		sort.Strings(files)
		deb := files[len(files)-1] // the newest downloaded version sorts last
		fields, err := run("", "dpkg-deb", "--field", deb, "Package", "Version")
		if err != nil {
			return "", nil, fmt.Errorf("reading %s: %w", deb, err)
		}
		versions = append(versions, strings.Join(fieldValues(fields), "="))
		if _, err := run("", "dpkg-deb", "-x", deb, root); err != nil {
			return "", nil, fmt.Errorf("unpacking %s: %w", deb, err)
		}
	}
	return root, versions, nil
}

// checkTools fails when an enforcer tool is missing from the unpacked root.
func checkTools(root string) error {
	for _, alternatives := range enforcerTools {
		found := false
		for _, p := range alternatives {
			if _, err := os.Stat(filepath.Join(root, p)); err == nil {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("the unpacked packages hold none of %v", alternatives)
		}
	}
	return nil
}

func fieldValues(out string) []string {
	var vals []string
	for line := range strings.SplitSeq(strings.TrimSpace(out), "\n") {
		if _, v, ok := strings.Cut(line, ": "); ok {
			vals = append(vals, strings.TrimSpace(v))
		}
	}
	return vals
}

func run(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
