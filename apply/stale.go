package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/state"
)

// CheckInputs HEADs every pinned input of job (concurrency at a time) and
// returns an *InputChangedError for the first one whose ETag or size
// changed or that vanished since the plan: a saved plan must run against
// exactly the objects it chose. It costs one HEAD per input, in parallel.
func CheckInputs(ctx context.Context, job *exec.Job, concurrency int) error {
	if concurrency <= 0 {
		concurrency = 32
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	store := job.Source.Loc.Store
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	set := func(err error) { once.Do(func() { first = err; cancel() }) }
	for _, t := range job.Tasks {
		for _, in := range job.TaskInputs(t) {
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			sem <- struct{}{}
			go func(in exec.Input) {
				defer wg.Done()
				defer func() { <-sem }()
				info, err := store.Head(ctx, in.Key)
				switch {
				case errors.Is(err, objstore.ErrNotExist):
					set(&exec.InputChangedError{Key: in.Key, Planned: in.ETag, Found: "(deleted)"})
				case err != nil:
					if ctx.Err() == nil {
						set(fmt.Errorf("checking input %s: %w", in.Key, err))
					}
				case in.ETag != "" && info.ETag != in.ETag, info.Size != in.Size:
					set(&exec.InputChangedError{Key: in.Key, Planned: fmt.Sprintf("%s, %d bytes", in.ETag, in.Size), Found: fmt.Sprintf("%s, %d bytes", info.ETag, info.Size)})
				}
			}(in)
		}
	}
	wg.Wait()
	return first
}

// checkPin compares the state with the plan's pin. It returns the old
// directory to adopt (moved block), the HEAD ETag the commit must find, and
// why the plan is stale ("" when it is not).
func checkPin(ctx context.Context, st *state.Bookmarks, pin planner.StatePin) (movedFrom, etag, why string, err error) {
	head, etag, err := st.Head(ctx)
	if err != nil {
		return "", "", "", err
	}
	if pin.MovedFrom != "" && etag == "" {
		old := state.AtDir(st.Store(), pin.MovedFrom)
		_, oetag, err := old.Head(ctx)
		if err != nil {
			return "", "", "", err
		}
		if oetag != pin.ETag {
			return "", "", fmt.Sprintf("the bookmarks of %s changed since the plan was made", pin.MovedFrom), nil
		}
		return pin.MovedFrom, oetag, "", nil
	}
	if etag != pin.ETag {
		return "", "", fmt.Sprintf("the bookmarks changed since the plan was made (state version %d, planned against %d: another run committed)", head.Version, pin.Version), nil
	}
	return "", etag, "", nil
}
