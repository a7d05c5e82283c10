package ociimage

import (
	"archive/tar"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

var epoch = time.Unix(0, 0).UTC()

func digestOf(t *testing.T, entries []Entry, mtime time.Time) string {
	t.Helper()
	l, err := Layer(entries, mtime)
	if err != nil {
		t.Fatal(err)
	}
	d, err := l.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// The same entries give the same digest in any order; a different time, mode or content does not.
func TestLayerIsReproducible(t *testing.T) {
	a := []Entry{{Path: "usr/bin/x", Mode: 0o755, Data: []byte("x")}, {Path: "etc/y", Mode: 0o644, Data: []byte("y")}}
	b := []Entry{a[1], a[0]}
	if digestOf(t, a, epoch) != digestOf(t, b, epoch) {
		t.Error("the order of the entries changes the digest")
	}
	for name, other := range map[string][]Entry{
		"mode":    {{Path: "usr/bin/x", Mode: 0o700, Data: []byte("x")}, a[1]},
		"content": {{Path: "usr/bin/x", Mode: 0o755, Data: []byte("z")}, a[1]},
		"owner":   {{Path: "usr/bin/x", Mode: 0o755, Data: []byte("x"), UID: 1}, a[1]},
	} {
		if digestOf(t, a, epoch) == digestOf(t, other, epoch) {
			t.Errorf("a different %s gives the same digest", name)
		}
	}
	if digestOf(t, a, epoch) == digestOf(t, a, epoch.Add(time.Hour)) {
		t.Error("a different time gives the same digest")
	}
}

func TestLayerEntries(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	l, err := Layer([]Entry{
		{Path: "usr/sbin/iptables", Linkname: "xtables-nft-multi", Mode: 0o777},
		{Path: "tmp", Dir: true, Mode: 0o1777},
		{Path: "usr/sbin/xtables-nft-multi", Mode: 0o755, Data: []byte("elf")},
	}, mtime)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var got []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(mtime) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: time %v owner %d:%d, want %v 0:0", h.Name, h.ModTime, h.Uid, h.Gid, mtime)
		}
		got = append(got, string(h.Typeflag)+" "+h.Name+" "+h.Linkname+" "+strings.TrimLeft(modeString(h.Mode), "0"))
	}
	want := []string{
		"5 tmp/  1777",
		"5 usr/  755",
		"5 usr/sbin/  755",
		"2 usr/sbin/iptables xtables-nft-multi 777",
		"0 usr/sbin/xtables-nft-multi  755",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("layer entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func modeString(m int64) string {
	const digits = "01234567"
	var b []byte
	for ; m > 0; m /= 8 {
		b = append([]byte{digits[m%8]}, b...)
	}
	return string(b)
}

func TestLayerRefusesBadEntries(t *testing.T) {
	for name, entries := range map[string][]Entry{
		"absolute path": {{Path: "/etc/passwd", Mode: 0o644}},
		"escaping path": {{Path: "etc/../../x", Mode: 0o644}},
		"empty path":    {{Path: "", Mode: 0o644}},
		"given twice":   {{Path: "a", Mode: 0o644}, {Path: "a", Mode: 0o600}},
	} {
		if _, err := Layer(entries, epoch); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestBuildConfig(t *testing.T) {
	s := Spec{
		Name: "x", Version: "v1", Architecture: "amd64", User: "65532:65532",
		Entrypoint: []string{"/x"}, Env: []string{"PATH=/"}, Labels: map[string]string{"a": "b"},
		Created: time.Unix(1700000000, 0).UTC(), CreatedBy: "test",
		Layers: [][]Entry{{{Path: "x", Mode: 0o755, Data: []byte("x")}}},
	}
	img, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != s.User || cf.Config.Entrypoint[0] != "/x" || cf.Config.Labels["a"] != "b" || !cf.Created.Equal(s.Created) || cf.OS != "linux" || cf.Architecture != "amd64" {
		t.Errorf("config %+v", cf)
	}
	again, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same spec built twice: %s and %s", d1, d2)
	}
	dir := t.TempDir()
	if err := WriteLayout(dir, img, s); err != nil {
		t.Fatal(err)
	}
}
