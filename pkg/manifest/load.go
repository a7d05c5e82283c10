package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Load reads every path ("-" reads stdin) into a Set. It fails on the first path that cannot be read
// or document that cannot be parsed (an *Error), and on any document that parses but does not
// decode (the joined *DecodeErrors). This is what commands that build a model (trace, matrix) want:
// an object that cannot be decoded must never be silently left out of the model.
func Load(paths []string, stdin io.Reader) (*Set, error) {
	set, err := LoadLenient(paths, stdin)
	if err != nil {
		return nil, err
	}
	if err := set.Err(); err != nil {
		return nil, err
	}
	return set, nil
}

// LoadLenient is Load, except that documents that parse but do not decode are kept in the Set with
// Document.Err set instead of failing the load, so that every problem can be reported at once.
func LoadLenient(paths []string, stdin io.Reader) (*Set, error) {
	l := &loader{set: &Set{}, stdin: stdin}
	for _, p := range paths {
		if err := l.readPath(p); err != nil {
			return nil, err
		}
	}
	return l.set, nil
}

// Parse reads the bytes of one file, named file in every Source, like LoadLenient.
func Parse(file string, data []byte) (*Set, error) {
	set := &Set{}
	if err := parseFile(file, data, set); err != nil {
		return nil, err
	}
	return set, nil
}

type loader struct {
	set       *Set
	stdin     io.Reader
	stdinRead bool
}

func (l *loader) readPath(p string) error {
	if p == "-" {
		return l.readStdin()
	}
	info, err := os.Stat(p)
	if err != nil {
		return &Error{File: p, Index: -1, Err: readError(err)}
	}
	if !info.IsDir() {
		return l.readFile(p)
	}
	files, err := manifestFiles(p)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return &Error{File: p, Index: -1, Err: errors.New("directory holds no .yaml, .yml or .json file")}
	}
	for _, f := range files {
		if err := l.readFile(f); err != nil {
			return err
		}
	}
	return nil
}

func (l *loader) readStdin() error {
	if l.stdinRead {
		return &Error{File: StdinName, Index: -1, Err: errors.New(`"-" (stdin) given more than once`)}
	}
	l.stdinRead = true
	if l.stdin == nil {
		return &Error{File: StdinName, Index: -1, Err: errors.New("no stdin to read")}
	}
	data, err := io.ReadAll(l.stdin)
	if err != nil {
		return &Error{File: StdinName, Index: -1, Err: fmt.Errorf("cannot read: %w", err)}
	}
	return parseFile(StdinName, data, l.set)
}

func (l *loader) readFile(p string) error {
	data, err := os.ReadFile(p) //nolint:gosec // reading the paths the user names is this package's job
	if err != nil {
		return &Error{File: p, Index: -1, Err: readError(err)}
	}
	return parseFile(p, data, l.set)
}

// manifestFiles walks dir in lexical order and returns the manifest files under it. Hidden
// directories (.git and the like) are skipped; symbolic links to files are followed, to
// directories are not (so that a link cycle cannot trap the walk).
func manifestFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &Error{File: p, Index: -1, Err: readError(err)}
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !isManifestName(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			info, err := os.Stat(p)
			if err != nil {
				return &Error{File: p, Index: -1, Err: readError(err)}
			}
			if info.IsDir() {
				return nil
			}
		}
		files = append(files, p)
		return nil
	})
	return files, err
}

func isManifestName(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// readError drops the path that *fs.PathError repeats, since Error already names the file.
func readError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read: %w", pe.Err)
	}
	return fmt.Errorf("cannot read: %w", err)
}
