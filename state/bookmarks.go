package state

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/sluicedata/sluice/objstore"
)

// Bookmarks is the state directory of one pipeline source: its processed
// keys (HEAD and segments), the journal of its changes and its lock.
type Bookmarks struct {
	store objstore.Store
	dir   string // "<prefix><pipeline>/<source>/"
}

// New returns the state of pipeline/source under prefix of store. prefix is
// "" or ends with "/".
func New(store objstore.Store, prefix, pipeline, source string) *Bookmarks {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &Bookmarks{store: store, dir: prefix + pipeline + "/" + source + "/"}
}

// Dir is the key prefix holding this source's state, ending in "/".
func (s *Bookmarks) Dir() string { return s.dir }

// Store is the object store holding the state.
func (s *Bookmarks) Store() objstore.Store { return s.store }

// AtDir returns the state whose directory (as in a plan's StatePin.Dir,
// prefix included) is dir.
func AtDir(store objstore.Store, dir string) *Bookmarks {
	if !strings.HasSuffix(dir, "/") {
		dir += "/"
	}
	return &Bookmarks{store: store, dir: dir}
}

// ListSources lists the pipeline/source pairs that have a state directory
// under prefix, as "pipeline/source" strings in key order. plan uses it to
// notice a renamed pipeline or source.
func ListSources(ctx context.Context, store objstore.Store, prefix string) ([]string, error) {
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	pipelines, err := listDirs(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range pipelines {
		sources, err := listDirs(ctx, store, prefix+p+"/")
		if err != nil {
			return nil, err
		}
		for _, s := range sources {
			out = append(out, path.Join(p, s))
		}
	}
	return out, nil
}

func listDirs(ctx context.Context, store objstore.Store, prefix string) ([]string, error) {
	var out []string
	err := objstore.ListAll(ctx, store, objstore.ListInput{Prefix: prefix, Delimiter: "/"}, func(page objstore.ListPage) error {
		for _, cp := range page.CommonPrefixes {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(cp, prefix), "/"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("state: list %s: %w", prefix, err)
	}
	return out, nil
}

func listAll(ctx context.Context, store objstore.Store, prefix string, fn func(objstore.ObjectInfo)) error {
	err := objstore.ListAll(ctx, store, objstore.ListInput{Prefix: prefix}, func(page objstore.ListPage) error {
		for _, o := range page.Objects {
			fn(o)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: list %s: %w", prefix, err)
	}
	return nil
}

// Open returns the state of pipeline/source at loc (the configuration's
// state URL, opened with objstore.Open).
func Open(loc objstore.Location, pipeline, source string) *Bookmarks {
	return New(loc.Store, loc.Prefix, pipeline, source)
}
