package objstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// completeConcurrency bounds the completions in flight: each is one
// request, and a commit of thousands of files must not open thousands of
// connections.
const completeConcurrency = 16

// CompleteAll publishes pending uploads, a bounded number at a time, and
// calls after (when set) once each is published. It is safe to repeat: an
// upload that an earlier attempt completed (a crashed commit rolled
// forward, a response lost and the request retried) is recognised and
// counts as published when its key holds an object of the upload's size.
// It returns the first error.
func CompleteAll(ctx context.Context, store Store, ups []PendingUpload, after func(PendingUpload)) error {
	sem := make(chan struct{}, completeConcurrency)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for _, u := range ups {
		wg.Add(1)
		sem <- struct{}{}
		go func(u PendingUpload) {
			defer wg.Done()
			defer func() { <-sem }()
			_, err := store.CompleteUpload(ctx, u)
			if errors.Is(err, ErrNotExist) {
				// Gone from the upload area: completed before if the
				// key holds an object of the upload's size.
				if info, herr := store.Head(ctx, u.Key); herr == nil && info.Size == u.Size {
					err = nil
				}
			}
			if err != nil {
				mu.Lock()
				if first == nil {
					first = fmt.Errorf("publishing %s: %w", u.Key, err)
				}
				mu.Unlock()
				return
			}
			if after != nil {
				after(u)
			}
		}(u)
	}
	wg.Wait()
	return first
}
