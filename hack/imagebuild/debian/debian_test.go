package debian

import (
	"slices"
	"strings"
	"testing"
)

func TestParseDepends(t *testing.T) {
	for name, tc := range map[string]struct {
		out  string
		want []string
	}{
		"empty": {"", []string{}},
		"packages, virtual ones and dependency lines": {
			"iptables\n  Depends: libc6\n  Depends: <libxtables12>\n    libxtables12\nlibc6\n  Depends: libgcc-s1\n<virtual-thing>\nlibgcc-s1\n",
			[]string{"iptables", "libc6", "libgcc-s1"},
		},
		"duplicates and trailing spaces": {"ipset\nipset \nlibipset13\n", []string{"ipset", "libipset13"}},
		"not package names":              {"0<0\nIptables\nx\nlibc6:i386\n", []string{"libc6:i386"}},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ParseDepends(tc.out); !slices.Equal(got, tc.want) {
				t.Errorf("ParseDepends = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseShow(t *testing.T) {
	out := "Package: libc6\nVersion: 2.36-9+deb12u14\nArchitecture: amd64\nDescription: GNU C Library\n more: text\n\n" +
		"Package: conntrack\nVersion: 1:1.4.7-1+b2\nArchitecture: amd64\n\n"
	got, err := ParseShow(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []Package{{"conntrack", "1:1.4.7-1+b2", "amd64"}, {"libc6", "2.36-9+deb12u14", "amd64"}}
	if !slices.Equal(got, want) {
		t.Errorf("ParseShow = %v, want %v", got, want)
	}
	if f := got[0].debFile(); f != "conntrack_1%3a1.4.7-1+b2_amd64.deb" {
		t.Errorf("debFile = %q: apt-get download escapes the epoch's colon", f)
	}
	if _, err := ParseShow("Package: x\nArchitecture: amd64\n"); err == nil || !strings.Contains(err.Error(), "Version") {
		t.Errorf("a stanza without Version: %v", err)
	}
}

func FuzzParseDepends(f *testing.F) {
	f.Add("iptables\n  Depends: libc6\n<virtual>\nlibc6\n")
	f.Fuzz(func(t *testing.T, out string) {
		got := ParseDepends(out)
		if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
			t.Errorf("not sorted and unique: %q", got)
		}
		for _, n := range got {
			if !packageName.MatchString(n) {
				t.Errorf("bad package name %q", n)
			}
		}
	})
}

func FuzzParseShow(f *testing.F) {
	f.Add("Package: a\nVersion: 1\nArchitecture: all\n\nPackage: b\nVersion: 1:2\nArchitecture: amd64\n")
	f.Fuzz(func(t *testing.T, out string) {
		pkgs, err := ParseShow(out)
		if err != nil {
			return
		}
		for _, p := range pkgs {
			if p.Name == "" || p.Version == "" || p.Architecture == "" {
				t.Errorf("incomplete package %+v accepted", p)
			}
		}
	})
}
