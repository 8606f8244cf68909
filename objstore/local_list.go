package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DefaultMaxKeys is the page size of a List with MaxKeys 0, as on S3.
const DefaultMaxKeys = 1000

// dirFrame is one directory on the walk's stack: its entries sorted as S3
// would sort the keys below them.
type dirFrame struct {
	path    string // key prefix of the directory, "" or ending in "/"
	entries []string
	i       int
}

// readFrame reads one directory. A subdirectory is named with a trailing
// "/" and sorted so: "a-b" < "a/" because '-' < '/', which is exactly
// where S3 puts "a-b" relative to the keys "a/...".
func (s *LocalStore) readFrame(rel string) (*dirFrame, error) {
	dir := filepath.Join(s.root, filepath.FromSlash(rel))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		name := e.Name()
		if rel == "" && name == uploadDir {
			continue
		}
		isDir := e.IsDir()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				continue // dangling link: not an object
			}
			isDir = fi.IsDir()
		} else if !isDir && !e.Type().IsRegular() {
			continue // sockets, fifos, devices are not objects
		}
		if isDir {
			name += "/"
		}
		names = append(names, name)
	}
	slices.Sort(names)
	return &dirFrame{path: rel, entries: names}, nil
}

// hasObject reports whether the directory rel holds any object, however
// deep: a directory left empty is not a common prefix (S3 has no empty
// prefixes). It reads entries in small unsorted batches and stops at the
// first file, so a hive partition of thousands of files costs one batch.
func (s *LocalStore) hasObject(rel string) bool {
	f, err := os.Open(filepath.Join(s.root, filepath.FromSlash(rel)))
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		ents, err := f.ReadDir(64)
		for _, e := range ents {
			switch {
			case e.Type().IsRegular():
				return true
			case e.IsDir():
				if s.hasObject(rel + e.Name() + "/") {
					return true
				}
			case e.Type()&fs.ModeSymlink != 0:
				fi, err := os.Stat(filepath.Join(s.root, filepath.FromSlash(rel), e.Name()))
				if err == nil && (fi.Mode().IsRegular() || fi.IsDir() && s.hasObject(rel+e.Name()+"/")) {
					return true
				}
			}
		}
		if err != nil || len(ents) == 0 {
			return false
		}
	}
}

// List implements Store. It walks the tree depth-first in S3 key order with
// a stack of directory frames, so memory is that of the directories on the
// current path, and it descends only into directories that can hold keys
// matching Prefix and following StartAfter/Token.
//
// The token is the last key or common prefix returned. A token that is a
// common prefix (it ends with the delimiter; local keys never do) resumes
// after every key below it.
func (s *LocalStore) List(ctx context.Context, in ListInput) (ListPage, error) {
	if in.Delimiter != "" && in.Delimiter != "/" {
		return ListPage{}, fmt.Errorf("%s: unsupported delimiter %q (only \"/\")", s.URL(), in.Delimiter)
	}
	maxKeys := in.MaxKeys
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	after := in.StartAfter
	skipPrefix := ""
	if in.Token != "" {
		if in.Token > after {
			after = in.Token
		}
		if in.Delimiter != "" && strings.HasSuffix(in.Token, in.Delimiter) {
			skipPrefix = in.Token
		}
	}
	prefix := in.Prefix

	var page ListPage
	count := 0
	last := ""
	root, err := s.readFrame("")
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return page, nil // a root not yet written is an empty bucket
		}
		return page, fmt.Errorf("%s: %w", s.URL(), err)
	}
	stack := []*dirFrame{root}
	for len(stack) > 0 {
		if err := ctx.Err(); err != nil {
			return ListPage{}, err
		}
		top := stack[len(stack)-1]
		if top.i == len(top.entries) {
			stack = stack[:len(stack)-1]
			continue
		}
		name := top.entries[top.i]
		top.i++
		full := top.path + name
		inPrefix := strings.HasPrefix(full, prefix)
		if !inPrefix && full > prefix {
			break // sorted walk: nothing later can match the prefix
		}
		if skipPrefix != "" && strings.HasPrefix(full, skipPrefix) {
			continue
		}
		isDir := strings.HasSuffix(name, "/")
		if !isDir {
			if !inPrefix || full <= after {
				continue
			}
			if count == maxKeys {
				page.NextToken = last
				return page, nil
			}
			fi, err := os.Stat(filepath.Join(s.root, filepath.FromSlash(full)))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // deleted meanwhile
				}
				return ListPage{}, fmt.Errorf("%s: %w", s.keyURL(full), err)
			}
			page.Objects = append(page.Objects, localInfo(full, fi))
			count++
			last = full
			continue
		}
		// A directory: can anything below it match the prefix and follow
		// `after`? Keys below it all start with full.
		if !inPrefix && !strings.HasPrefix(prefix, full) {
			continue
		}
		if after >= full && !strings.HasPrefix(after, full) {
			continue // every key below full sorts before after
		}
		if in.Delimiter != "" && inPrefix && len(full) > len(prefix) {
			// The first delimiter after the prefix ends at full's "/": a
			// common prefix, listed without descending.
			if !s.hasObject(full) {
				continue
			}
			if count == maxKeys {
				page.NextToken = last
				return page, nil
			}
			page.CommonPrefixes = append(page.CommonPrefixes, full)
			count++
			last = full
			continue
		}
		f, err := s.readFrame(full)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return ListPage{}, fmt.Errorf("%s: %w", s.keyURL(full), err)
		}
		stack = append(stack, f)
	}
	return page, nil
}
