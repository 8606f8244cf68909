package apply

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
)

// A saved plan is a user's file: its checksum detects damage, not an
// edit (anyone can recompute it). So `apply PLANFILE` checks that what the
// plan will do follows from the configuration it names (Options.Config),
// in two steps:
//
//   - before the lock, the settings and the plan's structure
//     (planner.Follows: sources, sinks, modes, state location, where,
//     checks, schemas, partitioning; inputs admitted by the listing's
//     rules, each in one task) — taking the lock of a location the plan
//     names is itself an act of the plan;
//   - under the lock, once the pin is known to match, the inputs against
//     the bookmarks (notProcessed), and the run id against the runs
//     already recorded.

// settingsDiffer returns why the plan does not follow from the
// configuration's settings ("" when it does).
func (a *pipelineApply) settingsDiffer(ctx context.Context) (string, error) {
	diffs, err := planner.Follows(ctx, a.o.Config, a.pp, planner.Options{Footers: exec.Footers{}, OpenLocation: a.o.open})
	if err != nil || len(diffs) == 0 {
		return "", err
	}
	return notFollowing(a.o.Config, a.pp.Name, diffs), nil
}

func notFollowing(cfg *spec.Config, pipeline string, diffs []string) string {
	return fmt.Sprintf("the plan does not follow from its configuration (%s): pipeline %s: %s. It was edited after plan, or made from another configuration; run 'sluice plan' again",
		cfg.Dir, pipeline, strings.Join(diffs, "; "))
}

// maxListed bounds the inputs a refusal names one by one.
const maxListed = 5

// notProcessed streams the bookmarks the plan was pinned against (held
// under the lock, so they cannot move) merged with the plan's inputs,
// both in key order, in constant memory. In append mode an input already
// recorded is refused: with its ETag unchanged it was processed; with
// another ETag, only on_change = "reprocess" would choose it. Overwrite
// modes read processed inputs again by design. It also refuses a run id
// that a recorded run already has (its segment and manifest would be
// overwritten). It returns why ("" when nothing is wrong).
func (a *pipelineApply) notProcessed(ctx context.Context, bm *state.Bookmarks, movedFrom string) (string, error) {
	pp, runID := a.pp, a.plan.RunID
	if j, err := bm.ReadJournal(ctx, runID); err == nil && j.Phase != state.PhaseAborted {
		return fmt.Sprintf("pipeline %s: the plan's run id %s already ran (its journal says %s); a plan runs once", pp.Name, runID, j.Phase), nil
	} else if err != nil && !errors.Is(err, objstore.ErrNotExist) {
		return "", err
	}
	if movedFrom != "" {
		bm = state.AtDir(bm.Store(), movedFrom)
	}
	head, _, err := bm.Head(ctx)
	if err != nil {
		return "", err
	}
	if head.RunID == runID || slices.Contains(head.Segments, state.SegmentName(runID)) {
		return fmt.Sprintf("pipeline %s: the plan's run id %s is a run the bookmarks already record; a plan runs once", pp.Name, runID), nil
	}
	if pp.Sink.Mode != spec.ModeAppend || head.Version == 0 {
		return "", nil
	}
	onChange := spec.ChangeIgnore
	for _, p := range a.o.Config.Pipelines {
		if p.Name == pp.Name {
			onChange = p.Source.OnChange
		}
	}
	it, err := bm.Entries(ctx, head)
	if err != nil {
		return "", err
	}
	defer it.Close()
	var why []string
	bad := 0
	have := it.Next()
	pp.Inputs().Each(func(_ int, rel []byte, _ int64, etag []byte) bool {
		for have && strings.Compare(it.Entry().Key, string(rel)) < 0 {
			have = it.Next()
		}
		if !have || it.Entry().Key != string(rel) {
			return true
		}
		e := it.Entry()
		var msg string
		switch {
		case bytes.Equal(etag, []byte(e.ETag)):
			msg = fmt.Sprintf("input %q is already processed (run %s)", rel, e.RunID)
		case onChange != spec.ChangeReprocess:
			msg = fmt.Sprintf("input %q was processed (run %s) and has changed since, which on_change = %q does not process again", rel, e.RunID, onChange)
		}
		if msg != "" {
			bad++
			if bad <= maxListed {
				why = append(why, msg)
			}
		}
		return true
	})
	if err := it.Err(); err != nil {
		return "", err
	}
	if bad == 0 {
		return "", nil
	}
	if bad > maxListed {
		why = append(why, fmt.Sprintf("… %d inputs in all", bad))
	}
	return notFollowing(a.o.Config, pp.Name, why), nil
}
