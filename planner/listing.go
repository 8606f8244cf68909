package planner

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// ListSpec says what to list: a source prefix, its hive partition keys and
// the filters that can be decided from a key alone.
type ListSpec struct {
	Store  objstore.Store
	Prefix string // the source's key prefix in Store: "" or ending in "/"
	// Partitions are the hive keys, outermost first; PartitionTypes types
	// their values (string when no same-named column exists).
	Partitions     []string
	PartitionTypes []schema.Type
	// Conjuncts are the partition-only conjuncts of the source's where.
	Conjuncts []predicate.Conjunct
	Include   []string // doublestar, relative to Prefix
	Exclude   []string
	PageSize  int // 0: the store's default
	// OnListed, when set, is called with the running count of files
	// listed, every ListProgressEvery files (a progress indicator for
	// large prefixes). It runs on the listing goroutine: keep it cheap.
	OnListed func(files int64)
	// Prefetch is how many sibling directories have their first page listed
	// ahead, concurrently, while the walk is still in an earlier one (S3
	// listing is latency-bound). 0: DefaultPrefetch; negative: none.
	Prefetch int
}

// ListProgressEvery is how often (in files) ListSpec.OnListed is called.
const ListProgressEvery = 5000

// DefaultPrefetch is the default ListSpec.Prefetch.
const DefaultPrefetch = 8

// File is one listed input.
type File struct {
	Key  string // relative to the store root
	Size int64
	ETag string
	// Partitions are the hive values as written in the key (percent-escaped,
	// the Hive null marker as is; see hive.Cut), one per partition key.
	Partitions []string
	// LastModified is when the object was written (the backlog's age).
	LastModified time.Time
}

// ListStats counts what the listing removed and what it did.
type ListStats struct {
	PrunedPartitions int64 // key=value prefixes never listed because a conjunct was false
	GlobFiles        int64 // files removed by include/exclude
	GlobBytes        int64
	HiddenFiles      int64 // files under a _ or . path segment
	NonHiveFiles     int64 // files outside the key=value layout of the partitions
	NonHivePrefixes  int64 // directories at a partition level not named key=value
	BadValues        int64 // partition values that did not parse as their type (kept)
	ListCalls        int64
	Listed           int64 // files returned
	ListedBytes      int64
}

// Lister streams the files of a source in key order. Memory is one page per
// directory level being walked.
type Lister struct {
	spec    ListSpec
	conjAt  [][]predicate.Conjunct // conjAt[d]: conjuncts decidable once d+1 keys are known
	incLits []string               // literal prefixes of Include
	stack   []*level
	cur     File
	err     error
	stats   ListStats
	started bool
}

// level is one listing in progress: a directory with Delimiter "/" (a
// partition level) or, below the partition levels, flat listings of one or
// more prefixes taken in order.
type level struct {
	prefixes []string // flat: disjoint prefixes in key order; delimited: one
	delim    bool
	depth    int // partition keys known at this level
	raw      []string
	vals     []any // typed values of the known keys
	page     objstore.ListPage
	oi, pi   int
	loaded   bool
	// children are the levels for page.CommonPrefixes (nil: pruned),
	// decided when the page loads so that their listing can start early.
	children []*level
	pre      *prefetch // the first page, requested ahead
}

// prefetch is one List call running ahead of the walk.
type prefetch struct {
	done chan struct{}
	page objstore.ListPage
	err  error
}

// NewLister checks the globs and returns a lister; nothing is listed until Next.
func NewLister(spec ListSpec) (*Lister, error) {
	if spec.Prefix != "" && !strings.HasSuffix(spec.Prefix, "/") {
		spec.Prefix += "/"
	}
	for _, g := range slices.Concat(spec.Include, spec.Exclude) {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("invalid glob %q", g)
		}
	}
	l := &Lister{spec: spec, conjAt: make([][]predicate.Conjunct, len(spec.Partitions))}
	for _, c := range spec.Conjuncts {
		if !c.PartitionOnly {
			continue
		}
		at := -1
		for _, col := range c.Columns {
			i := slices.Index(spec.Partitions, col)
			if i < 0 {
				at = -2
				break
			}
			at = max(at, i)
		}
		if at >= 0 {
			l.conjAt[at] = append(l.conjAt[at], c)
		}
	}
	for _, g := range spec.Include {
		l.incLits = append(l.incLits, literalPrefix(g))
	}
	return l, nil
}

// literalPrefix is the part of a glob before its first meta character.
func literalPrefix(g string) string {
	if i := strings.IndexAny(g, "*?[{\\"); i >= 0 {
		return g[:i]
	}
	return g
}

// Stats are the counts so far (final once Next returned false).
func (l *Lister) Stats() ListStats { return l.stats }

// File is the current file.
func (l *Lister) File() File { return l.cur }

// Err is the error that stopped the listing.
func (l *Lister) Err() error { return l.err }

// Next advances to the next file; false at the end or on error.
func (l *Lister) Next(ctx context.Context) bool {
	if l.err != nil {
		return false
	}
	if !l.started {
		l.started = true
		l.stack = append(l.stack, l.newLevel(l.spec.Prefix, 0, nil, nil))
	}
	for len(l.stack) > 0 {
		lv := l.stack[len(l.stack)-1]
		if !lv.loaded || (lv.oi >= len(lv.page.Objects) && lv.pi >= len(lv.page.CommonPrefixes)) {
			more, err := l.load(ctx, lv)
			if err != nil {
				l.err = err
				return false
			}
			if !more {
				l.stack = l.stack[:len(l.stack)-1]
				continue
			}
			continue
		}
		// Objects and CommonPrefixes are each sorted; take the smaller head
		// so the stream stays in key order across descents.
		takePrefix := lv.pi < len(lv.page.CommonPrefixes) &&
			(lv.oi >= len(lv.page.Objects) || lv.page.CommonPrefixes[lv.pi] < lv.page.Objects[lv.oi].Key)
		if takePrefix {
			child := lv.children[lv.pi]
			lv.children[lv.pi] = nil // the stack owns it now; dropped when done
			lv.pi++
			l.kick(ctx, lv)
			if child != nil {
				l.stack = append(l.stack, child)
			}
			continue
		}
		o := lv.page.Objects[lv.oi]
		lv.oi++
		if f, ok := l.accept(lv, o); ok {
			l.cur = f
			l.stats.Listed++
			l.stats.ListedBytes += f.Size
			if l.spec.OnListed != nil && l.stats.Listed%ListProgressEvery == 0 {
				l.spec.OnListed(l.stats.Listed)
			}
			return true
		}
	}
	return false
}

// newLevel starts listing dir (a full key prefix) with depth keys known.
func (l *Lister) newLevel(dir string, depth int, raw []string, vals []any) *level {
	lv := &level{depth: depth, raw: raw, vals: vals}
	if depth < len(l.spec.Partitions) {
		lv.delim = true
		lv.prefixes = []string{dir}
		return lv
	}
	lv.prefixes = l.narrow(dir)
	return lv
}

// narrow turns a flat listing of dir into listings of the literal prefixes
// of the include globs below dir, when every include has one: a source of
// years with include = ["2026/**"] lists 2026/ only. The prefixes are made
// disjoint (a prefix covered by a shorter one is dropped), so listing them
// in sorted order keeps the stream sorted.
func (l *Lister) narrow(dir string) []string {
	if len(l.incLits) == 0 {
		return []string{dir}
	}
	rel := strings.TrimPrefix(dir, l.spec.Prefix)
	var ps []string
	for _, lit := range l.incLits {
		switch {
		case strings.HasPrefix(rel, lit):
			return []string{dir} // this include may match anything below dir
		case strings.HasPrefix(lit, rel):
			ps = append(ps, l.spec.Prefix+lit)
		}
	}
	slices.Sort(ps)
	out := ps[:0]
	for _, p := range ps {
		if len(out) > 0 && strings.HasPrefix(p, out[len(out)-1]) {
			continue
		}
		out = append(out, p)
	}
	return out
}

// load fetches the next page of lv; false when lv is exhausted.
func (l *Lister) load(ctx context.Context, lv *level) (bool, error) {
	for {
		if lv.loaded && lv.page.NextToken == "" {
			lv.prefixes = lv.prefixes[1:]
			lv.loaded = false
		}
		if len(lv.prefixes) == 0 {
			return false, nil
		}
		in := objstore.ListInput{Prefix: lv.prefixes[0], MaxKeys: l.spec.PageSize}
		if lv.delim {
			in.Delimiter = "/"
		}
		var page objstore.ListPage
		var err error
		if lv.loaded {
			in.Token = lv.page.NextToken
		}
		if pre := lv.pre; pre != nil && !lv.loaded {
			lv.pre = nil
			<-pre.done
			page, err = pre.page, pre.err
		} else {
			page, err = l.spec.Store.List(ctx, in)
			l.stats.ListCalls++
		}
		if err != nil {
			return false, fmt.Errorf("listing: %w", err)
		}
		slog.DebugContext(ctx, "listed a page", "prefix", in.Prefix, "objects", len(page.Objects), "prefixes", len(page.CommonPrefixes), "more", page.NextToken != "")
		lv.page, lv.oi, lv.pi, lv.loaded = page, 0, 0, true
		lv.children = lv.children[:0]
		for _, cp := range page.CommonPrefixes {
			lv.children = append(lv.children, l.descend(lv, cp))
		}
		l.kick(ctx, lv)
		if len(page.Objects) > 0 || len(page.CommonPrefixes) > 0 {
			return true, nil
		}
	}
}

// kick starts the first-page listing of the next few children of lv that
// will be descended into, so their round trips overlap.
func (l *Lister) kick(ctx context.Context, lv *level) {
	if l.spec.Prefetch < 0 {
		return
	}
	w := l.spec.Prefetch
	if w == 0 {
		w = DefaultPrefetch
	}
	for j := lv.pi; j < len(lv.children) && j < lv.pi+w; j++ {
		c := lv.children[j]
		if c == nil || c.pre != nil || c.loaded || len(c.prefixes) == 0 {
			continue
		}
		in := objstore.ListInput{Prefix: c.prefixes[0], MaxKeys: l.spec.PageSize}
		if c.delim {
			in.Delimiter = "/"
		}
		pre := &prefetch{done: make(chan struct{})}
		c.pre = pre
		l.stats.ListCalls++
		go func() {
			defer close(pre.done)
			pre.page, pre.err = l.spec.Store.List(ctx, in)
		}()
	}
}

// descend decides whether the common prefix cp of lv can hold a matching
// file, and returns the level that lists it (nil: pruned).
func (l *Lister) descend(lv *level, cp string) *level {
	seg := strings.TrimSuffix(cp[len(lv.prefixes[0]):], "/")
	if i := strings.LastIndexByte(seg, '/'); i >= 0 {
		seg = seg[i+1:]
	}
	if hive.HiddenSegment(seg) {
		return nil
	}
	rel := strings.TrimPrefix(cp, l.spec.Prefix)
	if !l.mayMatchBelow(rel) {
		return nil
	}
	if lv.depth >= len(l.spec.Partitions) {
		return l.newLevel(cp, lv.depth, lv.raw, lv.vals)
	}
	key, enc, ok := hive.Cut(seg)
	if !ok || key != l.spec.Partitions[lv.depth] {
		l.stats.NonHivePrefixes++
		return nil
	}
	var typ schema.Type
	if lv.depth < len(l.spec.PartitionTypes) {
		typ = l.spec.PartitionTypes[lv.depth]
	} else {
		typ = schema.Type{Kind: schema.String}
	}
	val, err := predicate.ParsePartitionValue(enc, typ)
	if err != nil {
		// A value that is not of its declared type cannot be judged here:
		// keep it (the row filter or the decoder will report it).
		l.stats.BadValues++
		val = nil
	}
	raws := append(slices.Clip(lv.raw), enc)
	vals := append(slices.Clip(lv.vals), val)
	depth := lv.depth + 1
	if err == nil {
		row := func(name string) (any, bool) {
			i := slices.Index(l.spec.Partitions, name)
			if i < 0 || i >= depth {
				return nil, false
			}
			return vals[i], true
		}
		for _, c := range l.conjAt[depth-1] {
			if evalOnPartition(c.Expr, row) == triFalse {
				l.stats.PrunedPartitions++
				return nil
			}
		}
	}
	return l.newLevel(cp, depth, raws, vals)
}

// mayMatchBelow reports whether some file under the relative directory dir
// (ending in "/") can pass the globs. Only certain exclusions prune: an
// include whose literal prefix diverges from dir, or an exclude "X/**" whose
// X matches dir.
func (l *Lister) mayMatchBelow(dir string) bool {
	for _, g := range l.spec.Exclude {
		if base, ok := strings.CutSuffix(g, "/**"); ok {
			if m, _ := doublestar.Match(base, strings.TrimSuffix(dir, "/")); m {
				return false
			}
		}
	}
	if len(l.incLits) == 0 {
		return true
	}
	for _, lit := range l.incLits {
		if strings.HasPrefix(dir, lit) || strings.HasPrefix(lit, dir) {
			return true
		}
	}
	return false
}

// accept applies the per-key filters to an object of lv.
func (l *Lister) accept(lv *level, o objstore.ObjectInfo) (File, bool) {
	if o.Size == 0 && strings.HasSuffix(o.Key, "/") {
		return File{}, false
	}
	rel := strings.TrimPrefix(o.Key, l.spec.Prefix)
	if hive.Hidden(rel) {
		l.stats.HiddenFiles++
		return File{}, false
	}
	if lv.depth < len(l.spec.Partitions) {
		l.stats.NonHiveFiles++
		return File{}, false
	}
	if !l.globOK(rel) {
		l.stats.GlobFiles++
		l.stats.GlobBytes += o.Size
		return File{}, false
	}
	return File{Key: o.Key, Size: o.Size, ETag: o.ETag, Partitions: lv.raw, LastModified: o.LastModified}, true
}

// Admits says why the listing would not return the object at rel (a key
// relative to the prefix), or "" when it would: the walk's own rules for
// one key — no hidden segment, one key=value directory per partition key
// in order, none whose value makes a partition conjunct false, the
// include and exclude globs. A saved plan's inputs are checked with it.
func (l *Lister) Admits(rel string) string {
	segs := strings.Split(rel, "/")
	if rel == "" || strings.HasSuffix(rel, "/") {
		return "not an object key"
	}
	if hive.Hidden(rel) {
		return "it is under a hidden path segment (_ or .), which is never an input"
	}
	np := len(l.spec.Partitions)
	if len(segs)-1 < np {
		return fmt.Sprintf("it is outside the %s=… layout of the source's partitions", strings.Join(l.spec.Partitions, "=…/"))
	}
	vals := make([]any, 0, np)
	for d := 0; d < np; d++ {
		key, enc, ok := hive.Cut(segs[d])
		if !ok || key != l.spec.Partitions[d] {
			return fmt.Sprintf("it is outside the %s=… layout of the source's partitions", strings.Join(l.spec.Partitions, "=…/"))
		}
		typ := schema.Type{Kind: schema.String}
		if d < len(l.spec.PartitionTypes) {
			typ = l.spec.PartitionTypes[d]
		}
		val, err := predicate.ParsePartitionValue(enc, typ)
		if err != nil {
			vals = append(vals, nil) // unknown: judged by no conjunct here, as in the walk
			continue
		}
		vals = append(vals, val)
		row := func(name string) (any, bool) {
			i := slices.Index(l.spec.Partitions, name)
			if i < 0 || i >= len(vals) {
				return nil, false
			}
			return vals[i], true
		}
		for _, c := range l.conjAt[d] {
			if evalOnPartition(c.Expr, row) == triFalse {
				return fmt.Sprintf("its partition %s is pruned by where", strings.Join(segs[:d+1], "/"))
			}
		}
	}
	if !l.globOK(rel) {
		return "include/exclude leave it out"
	}
	return ""
}

func (l *Lister) globOK(rel string) bool {
	if len(l.spec.Include) > 0 {
		ok := false
		for _, g := range l.spec.Include {
			if m, _ := doublestar.Match(g, rel); m {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, g := range l.spec.Exclude {
		if m, _ := doublestar.Match(g, rel); m {
			return false
		}
	}
	return true
}
