package main

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// entry is one file, directory or symbolic link of a layer.
type entry struct {
	path     string // without a leading slash
	mode     int64
	dir      bool
	linkname string // a symbolic link when set
	data     []byte
	uid, gid int
}

// buildLayer writes entries as an uncompressed tar, sorted by path, with every time set to mtime,
// and returns it as an OCI layer. The same entries always give the same digest.
func buildLayer(entries []entry, mtime time.Time) (v1.Layer, error) {
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{
			Name: e.path, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX,
		}
		switch {
		case e.dir:
			h.Typeflag = tar.TypeDir
			h.Name = strings.TrimSuffix(e.path, "/") + "/"
		case e.linkname != "":
			h.Typeflag = tar.TypeSymlink
			h.Linkname = e.linkname
		default:
			h.Typeflag = tar.TypeReg
			h.Size = int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, fmt.Errorf("layer entry %s: %w", e.path, err)
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, fmt.Errorf("layer entry %s: %w", e.path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("closing layer: %w", err)
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

// treeEntries reads a directory tree (an unpacked root file system) into layer entries owned by
// root, skipping paths for which skip returns true.
func treeEntries(root string, skip func(rel string) bool) ([]entry, error) {
	var out []entry
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
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
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		e := entry{path: rel, mode: int64(info.Mode().Perm())}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if e.linkname, err = os.Readlink(path); err != nil {
				return err
			}
			e.mode = 0o777
		case info.IsDir():
			e.dir = true
		case info.Mode().IsRegular():
			if e.data, err = os.ReadFile(path); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unsupported file type %s", rel, info.Mode().Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", root, err)
	}
	return out, nil
}

// fileEntry reads one file of the build machine into a layer entry at path.
func fileEntry(src, path string, mode int64) (entry, error) {
	data, err := os.ReadFile(src)
	if err != nil {
		return entry{}, fmt.Errorf("reading %s: %w", src, err)
	}
	return entry{path: path, mode: mode, data: data}, nil
}
