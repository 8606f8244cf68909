package planner

import (
	"fmt"

	"github.com/sluicedata/sluice/spec"
)

// boundedSelection lists the source and merges the listing with the
// bookmarks to choose the run's inputs (mode, on_change and bounds).
//
// Why it is safe: the listing and the processed keys are both in key order
// and every listed file is classified exactly once (new, changed,
// processed), so no unprocessed file is skipped; bounds only defer files to
// the backlog, in key order, and at least one file (or partition) is always
// taken so a backlog always drains. overwrite_partitions takes whole output
// partitions, so a late file never shrinks a partition to itself.
func boundedSelection(rc *RuleContext, n Node) (Node, bool, error) {
	src := rc.Pipeline.Source
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		ls := ListSpec{
			Store:          rc.Store,
			Prefix:         rc.Prefix,
			Partitions:     src.Partitions,
			PartitionTypes: s.Shape.PartitionTypes(),
			Include:        src.Include,
			Exclude:        src.Exclude,
			PageSize:       rc.PageSize,
		}
		if rc.OnListed != nil {
			name := rc.Pipeline.Name
			ls.OnListed = func(n int64) { rc.OnListed(name, n) }
		}
		if s.PruneListing {
			ls.Conjuncts = s.PartitionConjuncts
		}
		open := func() (*Lister, error) { return NewLister(ls) }
		ss := SelectSpec{Prefix: rc.Prefix, Partitions: src.Partitions, Open: open, Processed: rc.Processed, Mode: rc.Pipeline.Sink.Mode, OnChange: src.OnChange, Bounds: src.Bounded, PartitionBy: rc.Pipeline.Sink.PartitionBy, PartitionTypes: s.Shape.PartitionTypes()}
		if ss.Mode != spec.ModeOverwritePartitions {
			ss.PartitionBy = nil
		}
		sel, err := Select(rc.Ctx, ss)
		if err != nil {
			return nil, false, err
		}
		c := *s
		c.Selection = sel
		c.Est = Estimates{Files: sel.Selected.Files, Bytes: sel.Selected.Bytes, Rows: -1}
		bounds := "unbounded"
		if b := src.Bounded; b != nil {
			bounds = "bounded"
			if b.Files > 0 {
				bounds += fmt.Sprintf(" files %d", b.Files)
			}
			if b.Bytes > 0 {
				bounds += " bytes " + FormatBytes(b.Bytes)
			}
		}
		rc.fired("bounded_selection", "%s: %s (%s) selected of %s new, %s changed; backlog %s (%s)",
			bounds, plural(sel.Selected.Files, "file"), FormatBytes(sel.Selected.Bytes), plural(sel.New.Files, "file"),
			plural(sel.Changed.Files, "file"), plural(sel.Backlog.Files, "file"), FormatBytes(sel.Backlog.Bytes))
		return &c, true, nil
	})
}
