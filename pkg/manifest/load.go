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
	return LoadWith(paths, stdin, Options{})
}

// DefaultMaxBytes is the input cap when Options.MaxBytes is zero: far above any set of policies
// and pods (a manifest set takes several times its size in memory once decoded), far below what
// exhausts a laptop.
const DefaultMaxBytes = 32 << 20

// Options tune a load.
type Options struct {
	// MaxBytes caps the bytes read from all paths together; 0 means DefaultMaxBytes. Reading stops
	// at the cap, so an endless input (/dev/zero, a runaway pipe) fails with an *Error instead of
	// exhausting memory.
	MaxBytes int64
	// KeepGoing makes LoadLenientWith record a document that does not parse in Set.Problems and
	// read on, so that lint checks every other document too. Load ignores it.
	KeepGoing bool
	// Recursive reads the subdirectories of a directory too, as kubectl -R does; without it only
	// the files directly in the directory are read, and the subdirectories holding manifests are
	// named in Set.Notes.
	Recursive bool
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

// LoadWith is Load with options.
func LoadWith(paths []string, stdin io.Reader, opts Options) (*Set, error) {
	opts.KeepGoing = false
	set, err := LoadLenientWith(paths, stdin, opts)
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
	return LoadLenientWith(paths, stdin, Options{})
}

// LoadLenientWith is LoadLenient with options.
func LoadLenientWith(paths []string, stdin io.Reader, opts Options) (*Set, error) {
	l := &loader{set: &Set{}, stdin: stdin, left: opts.maxBytes(), max: opts.maxBytes(), keepGoing: opts.KeepGoing, recursive: opts.Recursive}
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
	if err := parseFile(file, data, set, false); err != nil {
		return nil, err
	}
	return set, nil
}

type loader struct {
	set       *Set
	stdin     io.Reader
	stdinRead bool
	// left is what may still be read of max, the cap on all inputs together.
	left, max int64
	keepGoing bool
	recursive bool
}

// ErrTooLarge is wrapped by the *Error of an input beyond the cap.
var ErrTooLarge = errors.New("input too large")

func sizeText(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// read reads r up to the bytes left under the cap.
func (l *loader) read(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, l.left+1))
	if err != nil {
		return nil, &Error{File: name, Index: -1, Err: readError(err)}
	}
	if int64(len(data)) > l.left {
		return nil, &Error{File: name, Index: -1, Err: fmt.Errorf("%w: the inputs together exceed the limit of %s; raise it with --max-input-bytes if this input is meant", ErrTooLarge, sizeText(l.max))}
	}
	l.left -= int64(len(data))
	return data, nil
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
	files, skipped, err := manifestFiles(p, l.recursive)
	if err != nil {
		return err
	}
	for _, s := range skipped {
		l.set.Notes = append(l.set.Notes, fmt.Sprintf("%s: not read: it is a subdirectory, and -R (--recursive) reads subdirectories, as in kubectl", s))
	}
	if len(files) == 0 {
		return &Error{File: p, Index: -1, Err: errors.New("directory holds no .yaml, .yml or .json file")}
	}
	for _, f := range files {
		if err := l.readWalked(f); err != nil {
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
	data, err := l.read(StdinName, l.stdin)
	if err != nil {
		return err
	}
	return parseFile(StdinName, data, l.set, l.keepGoing)
}

func (l *loader) readWalked(p string) error {
	f, err := os.Open(p) //nolint:gosec // reading the paths the user names is this package's job
	if err != nil {
		return &Error{File: p, Index: -1, Err: readError(err)}
	}
	defer func() { _ = f.Close() }()
	data, err := l.read(p, f)
	if err != nil {
		return err
	}
	return l.parse(p, data, true)
}

func (l *loader) readFile(p string) error {
	f, err := os.Open(p) //nolint:gosec // reading the paths the user names is this package's job
	if err != nil {
		return &Error{File: p, Index: -1, Err: readError(err)}
	}
	defer func() { _ = f.Close() }()
	data, err := l.read(p, f)
	if err != nil {
		return err
	}
	return l.parse(p, data, false)
}

// parse reads one file's bytes into the set. A file found by walking a directory whose first
// document is not a Kubernetes object (a Helm values file, a package.json) is skipped with a note:
// the user named the directory, not that file. A file named on the command line is never skipped.
func (l *loader) parse(p string, data []byte, walked bool) error {
	if !walked {
		return parseFile(p, data, l.set, l.keepGoing)
	}
	tmp := &Set{}
	err := parseFile(p, data, tmp, l.keepGoing)
	first := firstProblem(err, tmp)
	if first != nil && first.Index == 0 && errors.Is(first, errNotKubernetes) {
		l.set.Notes = append(l.set.Notes, fmt.Sprintf("%s: skipped: not a Kubernetes manifest (%v)", p, first.Err))
		return nil
	}
	l.set.merge(tmp)
	return err
}

func firstProblem(err error, set *Set) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if len(set.Problems) > 0 {
		return set.Problems[0]
	}
	return nil
}

// manifestFiles walks dir in lexical order and returns the manifest files under it. Hidden
// directories (.git and the like) are skipped; symbolic links to files are followed, to
// directories are not (so that a link cycle cannot trap the walk).
//
// Without recursive, as kubectl without -R, only the files directly in dir are read; the
// subdirectories that hold manifests are returned in skipped, so that the caller can say they
// were not read (a policy in a subdirectory left out silently would be missing from every verdict).
func manifestFiles(dir string, recursive bool) (files, skipped []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return &Error{File: p, Index: -1, Err: readError(err)}
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if p != dir && !recursive {
				if sub, _, err := manifestFiles(p, true); err == nil && len(sub) > 0 {
					skipped = append(skipped, p)
				}
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
	return files, skipped, err
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
