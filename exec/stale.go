package exec

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sluicedata/sluice/objstore"
)

// CheckInputs HEADs every pinned input of job (concurrency at a time) and
// returns an *InputChangedError for the first one whose ETag or size
// changed or that vanished since the plan: a saved plan must run against
// exactly the objects it chose. It costs one HEAD per input, in parallel.
func CheckInputs(ctx context.Context, job *Job, concurrency int) error {
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
		for _, in := range t.Inputs {
			if ctx.Err() != nil {
				break
			}
			wg.Add(1)
			sem <- struct{}{}
			go func(in Input) {
				defer wg.Done()
				defer func() { <-sem }()
				info, err := store.Head(ctx, in.Key)
				switch {
				case errors.Is(err, objstore.ErrNotExist):
					set(&InputChangedError{Key: in.Key, Planned: in.ETag, Found: "(deleted)"})
				case err != nil:
					if ctx.Err() == nil {
						set(fmt.Errorf("checking input %s: %w", in.Key, err))
					}
				case in.ETag != "" && info.ETag != in.ETag, info.Size != in.Size:
					set(&InputChangedError{Key: in.Key, Planned: fmt.Sprintf("%s, %d bytes", in.ETag, in.Size), Found: fmt.Sprintf("%s, %d bytes", info.ETag, info.Size)})
				}
			}(in)
		}
	}
	wg.Wait()
	return first
}
