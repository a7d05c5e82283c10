package ociimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Entry is one file, directory or symbolic link of a layer.
type Entry struct {
	Path     string // relative, slash-separated, without a leading slash
	Mode     int64  // permission bits (and sticky bit)
	Dir      bool
	Linkname string // a symbolic link to Linkname when set
	Data     []byte
	UID, GID int
}

// Layer writes entries, with their missing parent directories (mode 0755), as an uncompressed tar
// sorted by path with every time set to mtime, and returns it as an OCI layer. The same entries
// always give the same digest. Two entries with the same path are an error.
func Layer(entries []Entry, mtime time.Time) (v1.Layer, error) {
	entries = withParents(entries)
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, e := range entries {
		if e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.Contains("/"+e.Path+"/", "/../") {
			return nil, fmt.Errorf("layer entry %q: the path must be relative and stay inside the image", e.Path)
		}
		if i > 0 && entries[i-1].Path == e.Path {
			return nil, fmt.Errorf("layer entry %s: given twice", e.Path)
		}
		h := &tar.Header{
			Name: e.Path, Mode: e.Mode, Uid: e.UID, Gid: e.GID,
			ModTime: mtime.Truncate(time.Second), Format: tar.FormatPAX,
		}
		switch {
		case e.Dir:
			h.Typeflag = tar.TypeDir
			h.Name = e.Path + "/"
		case e.Linkname != "":
			h.Typeflag = tar.TypeSymlink
			h.Linkname = e.Linkname
		default:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.Data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.Path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.Data); err != nil {
				return nil, fmt.Errorf("layer entry %s: %w", e.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing the layer: %w", err)
	}
	raw := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(raw)), nil
	}, tarball.WithMediaType(types.OCILayer), tarball.WithCompressedCaching)
	if err != nil {
		return nil, fmt.Errorf("layer: %w", err)
	}
	return layer, nil
}

// withParents adds the missing parent directories of entries, so that every directory of the layer
// has a known mode and owner.
func withParents(entries []Entry) []Entry {
	out := append([]Entry(nil), entries...)
	have := map[string]bool{}
	for _, e := range entries {
		have[e.Path] = true
	}
	for _, e := range entries {
		for dir := path.Dir(e.Path); dir != "." && dir != "/"; dir = path.Dir(dir) {
			if !have[dir] {
				have[dir] = true
				out = append(out, Entry{Path: dir, Dir: true, Mode: 0o755})
			}
		}
	}
	return out
}

// Tree reads a directory tree (an unpacked root file system) into entries owned by root, keeping
// permission bits and symbolic links and skipping the paths for which skip returns true.
func Tree(root string, skip func(rel string) bool) ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if skip != nil && skip(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := Entry{Path: rel, Mode: int64(info.Mode().Perm())}
		if info.Mode()&fs.ModeSticky != 0 {
			e.Mode |= 0o1000
		}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if e.Linkname, err = os.Readlink(p); err != nil {
				return err
			}
			e.Mode = 0o777
		case info.IsDir():
			e.Dir = true
		case info.Mode().IsRegular():
			if e.Data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unsupported file type %s", rel, info.Mode().Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading the tree %s: %w", root, err)
	}
	return out, nil
}

// File reads one file of the build machine into an entry at path p.
func File(src, p string, mode int64) (Entry, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return Entry{}, fmt.Errorf("reading %s: %w", src, err)
	}
	return Entry{Path: p, Mode: mode, Data: data}, nil
}
