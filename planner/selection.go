package planner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// ProcessedIterator streams processed keys (relative to the source URL) in
// key order with the ETag each had; state.Iterator satisfies it through
// StateProcessed.
type ProcessedIterator interface {
	Next() bool
	Current() (key, etag string)
	Err() error
	Close() error
}

// Figures are a file count and a byte total.
type Figures struct {
	Files int64 `json:"files"`
	Bytes int64 `json:"bytes"`
}

func (f *Figures) add(size int64) { f.Files++; f.Bytes += size }

// SelectSpec is what selection needs: where the files come from and the
// pipeline's rules for choosing among them.
type SelectSpec struct {
	Prefix     string   // the source prefix (state keys are relative to it)
	Partitions []string // the source's hive keys
	// Open returns a fresh lister of the source (overwrite_partitions
	// lists twice); Processed a fresh iterator over the bookmarks (nil: no
	// state yet).
	Open      func() (*Lister, error)
	Processed func() (ProcessedIterator, error)

	Mode     spec.Mode
	OnChange spec.ChangePolicy
	Bounds   *spec.Bounds // nil: unbounded
	// PartitionBy are the sink's partition_by keys (overwrite_partitions);
	// each must be one of the lister's partition keys. PartitionTypes
	// type the source's keys (as Partitions; missing: string).
	PartitionBy    []string
	PartitionTypes []schema.Type
}

// Selection is the outcome of merging a listing with the processed keys.
type Selection struct {
	Mode      spec.Mode
	Inputs    *Inputs
	Surviving Figures // every file that passed the listing filters
	New       Figures // never processed
	Changed   Figures // processed with another ETag
	Processed Figures // processed, unchanged
	Deleted   int64   // processed keys no longer listed
	Selected  Figures // = the inputs
	Backlog   Figures // selectable files left for later runs
	// BacklogOldest is when the oldest file of the backlog was written
	// (zero without a backlog): how far behind the pipeline is.
	BacklogOldest time.Time
	// PendingOldest is the same over every file waiting to be processed,
	// this run's included.
	PendingOldest time.Time
	// Took is how long listing and merging took.
	Took time.Duration
	// Partitions counts output partitions (overwrite_partitions): affected
	// ones and the ones this run replaces.
	AffectedPartitions, ChosenPartitions int64
	Stats                                ListStats
}

// Pending reports whether the run has anything to do. For overwrite, which
// always reads everything, that is whether anything differs from the
// bookmarks (a new, changed or deleted input).
func (s *Selection) Pending() bool {
	if s.Mode == spec.ModeOverwrite {
		return s.New.Files+s.Changed.Files+s.Deleted > 0
	}
	return s.Selected.Files > 0
}

// ChangedError is returned when on_change = "error"
// and a processed object's ETag changed.
type ChangedError struct {
	Key, Old, New string
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed since it was processed (ETag %s, was %s) and on_change = \"error\"", e.Key, e.New, e.Old)
}

// classifier merges the listing stream with the processed keys.
type classifier struct {
	prefix string
	it     ProcessedIterator
	ok     bool // it holds a current key
	key    string
	etag   string
	sel    *Selection
}

type class int

const (
	classNew class = iota
	classChanged
	classProcessed
)

func (c *classifier) init() error {
	if c.it == nil {
		return nil
	}
	c.ok = c.it.Next()
	if c.ok {
		c.key, c.etag = c.it.Current()
	}
	return c.it.Err()
}

// classify returns the class of file f; keys of the state that sort before
// f and were not listed count as deleted.
func (c *classifier) classify(f File) (class, string, error) {
	rel := strings.TrimPrefix(f.Key, c.prefix)
	for c.ok && c.key < rel {
		c.sel.Deleted++
		c.ok = c.it.Next()
		if c.ok {
			c.key, c.etag = c.it.Current()
		} else if err := c.it.Err(); err != nil {
			return 0, "", err
		}
	}
	if c.ok && c.key == rel {
		etag := c.etag
		c.ok = c.it.Next() // consumed: it is not a deleted key
		if c.ok {
			c.key, c.etag = c.it.Current()
		} else if err := c.it.Err(); err != nil {
			return 0, "", err
		}
		if etag == f.ETag {
			return classProcessed, "", nil
		}
		return classChanged, etag, nil
	}
	return classNew, "", nil
}

// finish counts the processed keys after the last listed file.
func (c *classifier) finish() error {
	for c.ok {
		c.sel.Deleted++
		c.ok = c.it.Next()
	}
	if c.it != nil {
		return c.it.Err()
	}
	return nil
}

// wants reports whether a file of class k is to be (re)read, applying on_change.
func wants(k class, f File, old string, policy spec.ChangePolicy) (bool, error) {
	switch k {
	case classNew:
		return true, nil
	case classChanged:
		switch policy {
		case spec.ChangeReprocess:
			return true, nil
		case spec.ChangeError:
			return false, &ChangedError{Key: f.Key, Old: old, New: f.ETag}
		}
	}
	return false, nil
}

// bound is the running window of a bounded run.
type bound struct {
	b     *spec.Bounds
	taken Figures
	full  bool
}

// fits reports whether n more files of size bytes may join the run; once
// one does not, none after it do (inputs are taken in key order). The
// first unit always fits.
func (w *bound) fits(files, bytes int64) bool {
	if w.full {
		return false
	}
	if w.b != nil && w.taken.Files > 0 {
		if (w.b.Files > 0 && w.taken.Files+files > w.b.Files) || (w.b.Bytes > 0 && w.taken.Bytes+bytes > w.b.Bytes) {
			w.full = true
			return false
		}
	}
	w.taken.Files += files
	w.taken.Bytes += bytes
	return true
}

// Select lists the source and merges the listing with the processed keys,
// choosing the run's inputs.
func Select(ctx context.Context, ss SelectSpec) (*Selection, error) {
	start := time.Now()
	sel, err := selectInputs(ctx, ss)
	if sel != nil {
		sel.Took = time.Since(start)
	}
	return sel, err
}

func selectInputs(ctx context.Context, ss SelectSpec) (*Selection, error) {
	if ss.Mode == spec.ModeOverwrite && ss.Bounds != nil {
		return nil, fmt.Errorf("bounded is not allowed with mode = \"overwrite\"")
	}
	if ss.Mode == spec.ModeOverwritePartitions {
		return selectPartitions(ctx, ss)
	}
	sel := &Selection{Mode: ss.Mode, Inputs: NewInputs(ss.Prefix, ss.Partitions)}
	err := walk(ctx, &ss, ss.Processed, sel, func(f File, k class, old string) error {
		sel.Surviving.add(f.Size)
		want, err := wants(k, f, old, ss.OnChange)
		if err != nil {
			return err
		}
		if ss.Mode == spec.ModeOverwrite {
			sel.Inputs.Add(f.Key, f.Size, f.ETag)
			sel.Selected.add(f.Size)
			return nil
		}
		if !want {
			return nil
		}
		sel.PendingOldest = oldest(sel.PendingOldest, f.LastModified)
		if windowFits(&ss, sel, f.Size) {
			sel.Inputs.Add(f.Key, f.Size, f.ETag)
			sel.Selected.add(f.Size)
		} else {
			sel.Backlog.add(f.Size)
			sel.BacklogOldest = oldest(sel.BacklogOldest, f.LastModified)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sel, nil
}

// windowFits applies the bounds to the next file of an append run.
func windowFits(ss *SelectSpec, sel *Selection, size int64) bool {
	if sel.Backlog.Files > 0 {
		return false
	}
	w := bound{b: ss.Bounds, taken: sel.Selected}
	return w.fits(1, size)
}

// walk runs one listing merged with the processed keys, calling fn per file.
func walk(ctx context.Context, ss *SelectSpec, processed func() (ProcessedIterator, error), sel *Selection, fn func(File, class, string) error) error {
	l, err := ss.Open()
	if err != nil {
		return err
	}
	c := &classifier{prefix: ss.Prefix, sel: sel}
	if processed != nil {
		it, err := processed()
		if err != nil {
			return err
		}
		defer it.Close()
		c.it = it
	}
	if err := c.init(); err != nil {
		return err
	}
	for l.Next(ctx) {
		f := l.File()
		k, old, err := c.classify(f)
		if err != nil {
			return err
		}
		switch k {
		case classNew:
			sel.New.add(f.Size)
		case classChanged:
			sel.Changed.add(f.Size)
		case classProcessed:
			sel.Processed.add(f.Size)
		}
		if err := fn(f, k, old); err != nil {
			return err
		}
	}
	if err := l.Err(); err != nil {
		return err
	}
	sel.Stats = l.Stats()
	return c.finish()
}

// partStat aggregates one output partition in the first pass.
type partStat struct {
	order    int
	all      Figures
	affected bool
	oldest   time.Time // the oldest new or changed file's LastModified
}

// selectPartitions implements overwrite_partitions in two passes: the
// first finds the output partitions that have a new or changed input and
// sizes each partition; the second re-lists and takes every surviving file
// of the chosen partitions. Two passes keep memory at O(output partitions)
// even when partition_by is not a prefix of the source partitions and a
// partition's files are scattered through the key order.
func selectPartitions(ctx context.Context, ss SelectSpec) (*Selection, error) {
	idx := make([]int, len(ss.PartitionBy))
	for i, k := range ss.PartitionBy {
		idx[i] = slices.Index(ss.Partitions, k)
		if idx[i] < 0 {
			return nil, fmt.Errorf("partition_by key %q is not a partition of the source (%s)", k, strings.Join(ss.Partitions, ", "))
		}
	}
	// An output partition is a value, not a spelling: dt=50%off and
	// dt=50%25off (both "50%off") or dt=7 and dt=07 of an integer key feed
	// the same output directory, so a run that replaces it must read both.
	partKey := func(f File) string {
		var b strings.Builder
		for _, i := range idx {
			if i < len(f.Partitions) {
				b.WriteString(partitionText(f.Partitions[i], ss.partitionType(i)))
			}
			b.WriteByte(0)
		}
		return b.String()
	}
	sel := &Selection{Mode: ss.Mode, Inputs: NewInputs(ss.Prefix, ss.Partitions)}
	parts := map[string]*partStat{}
	err := walk(ctx, &ss, ss.Processed, sel, func(f File, k class, old string) error {
		sel.Surviving.add(f.Size)
		want, err := wants(k, f, old, ss.OnChange)
		if err != nil {
			return err
		}
		pk := partKey(f)
		p := parts[pk]
		if p == nil {
			p = &partStat{order: len(parts)}
			parts[pk] = p
		}
		p.all.add(f.Size)
		p.affected = p.affected || want
		if want {
			p.oldest = oldest(p.oldest, f.LastModified)
			sel.PendingOldest = oldest(sel.PendingOldest, f.LastModified)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	type cand struct {
		key string
		*partStat
	}
	var affected []cand
	for k, p := range parts {
		if p.affected {
			affected = append(affected, cand{k, p})
		}
	}
	slices.SortFunc(affected, func(a, b cand) int { return a.order - b.order })
	sel.AffectedPartitions = int64(len(affected))
	w := bound{b: ss.Bounds}
	chosen := map[string]bool{}
	for _, c := range affected {
		if w.fits(c.all.Files, c.all.Bytes) {
			chosen[c.key] = true
		} else {
			sel.Backlog.Files += c.all.Files
			sel.Backlog.Bytes += c.all.Bytes
			sel.BacklogOldest = oldest(sel.BacklogOldest, c.oldest)
		}
	}
	sel.ChosenPartitions = int64(len(chosen))
	if len(chosen) == 0 {
		return sel, nil
	}
	// Second pass: the counts of the first are kept; this one only picks.
	second := &Selection{}
	err = walk(ctx, &ss, nil, second, func(f File, _ class, _ string) error {
		if chosen[partKey(f)] {
			sel.Inputs.Add(f.Key, f.Size, f.ETag)
			sel.Selected.add(f.Size)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return sel, nil
}

func (ss *SelectSpec) partitionType(i int) schema.Type {
	if i < len(ss.PartitionTypes) && ss.PartitionTypes[i].Kind != schema.Invalid {
		return ss.PartitionTypes[i]
	}
	return schema.Type{Kind: schema.String}
}

// partitionText is the output partition value a path value (as written)
// names: decoded and typed, then formatted as the writer formats it. A
// value that does not parse as its type keeps its decoded text (plan
// warns about those).
func partitionText(raw string, t schema.Type) string {
	v, err := predicate.ParsePartitionValue(raw, t)
	if err != nil {
		s, _ := hive.DecodeValue(raw)
		return "\x01" + s // never equal to a typed value's text
	}
	if v == nil {
		return "\x00null"
	}
	return predicate.FormatPartitionValue(v)
}

// oldest is the earlier of two times, a zero one not counting.
func oldest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}
