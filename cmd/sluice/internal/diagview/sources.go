package diagview

import (
	"os"
	"path/filepath"
	"strings"
)

// Sources supplies the text of source files by the file name used in a
// diagnostic's range, reading each file from disk at most once. Text that is
// not on disk (stdin given to fmt) is added with Add.
type Sources struct {
	files map[string][]byte
	// ReadFile reads a file; nil means os.ReadFile. Tests replace it.
	ReadFile func(name string) ([]byte, error)
}

// NewSources returns an empty cache reading from disk.
func NewSources() *Sources {
	return &Sources{files: map[string][]byte{}}
}

// Add records the text of name, replacing what was read before.
func (s *Sources) Add(name string, src []byte) {
	if s.files == nil {
		s.files = map[string][]byte{}
	}
	s.files[name] = src
}

// Get returns the text of name, or false when it cannot be read (the
// renderer then prints the diagnostic without its source line).
func (s *Sources) Get(name string) ([]byte, bool) {
	if s == nil || name == "" {
		return nil, false
	}
	if src, ok := s.files[name]; ok {
		return src, src != nil
	}
	read := s.ReadFile
	if read == nil {
		read = os.ReadFile
	}
	src, err := read(name)
	if err != nil {
		src = nil // remember the failure too: one attempt per file
	}
	s.Add(name, src)
	return src, src != nil
}

// DisplayPath is how a file name is shown: relative to cwd when that is
// the shorter spelling (so `pipelines/a.hcl`, not `/home/…/pipelines/a.hcl`,
// and not `../../../../etc/x.hcl` either), else as an absolute path. An
// empty cwd keeps names as given.
func DisplayPath(name, cwd string) string {
	if cwd == "" || name == "" || strings.HasPrefix(name, "<") {
		return name
	}
	abs := name
	if !filepath.IsAbs(abs) {
		abs = filepath.Join(cwd, abs)
	}
	rel, err := filepath.Rel(cwd, abs)
	if err != nil || len(rel) > len(abs) {
		return abs
	}
	return rel
}
