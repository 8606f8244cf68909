package exec

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// stage runs fn on batches, in the order they are sent, on a goroutine of
// its own; barriers run on the same goroutine between them. Ownership: send
// hands the batch to the stage (fn, or the stage when it stopped after an
// error, releases it).
type stage struct {
	ch     chan stageItem
	done   chan struct{} // closed when fn failed; err is set before
	exited chan struct{} // closed when the goroutine returned
	err    error
	once   sync.Once
}

// stageDepth is how many batches may wait between the decoder and fn: one
// being decoded ahead is enough to overlap the two, and each waiting batch
// is memory.
const stageDepth = 2

// stageItem is a batch for fn, or (b nil) a barrier to run in its place.
type stageItem struct {
	b       arrow.RecordBatch
	barrier func() error
}

func newStage(fn func(arrow.RecordBatch) error) *stage {
	s := &stage{ch: make(chan stageItem, stageDepth), done: make(chan struct{}), exited: make(chan struct{})}
	go func() {
		defer close(s.exited)
		failed := false
		for it := range s.ch {
			if failed {
				if it.b != nil {
					it.b.Release()
				}
				continue
			}
			var err error
			if it.b != nil {
				err = fn(it.b)
			} else {
				err = it.barrier()
			}
			if err != nil {
				s.err = err
				failed = true
				close(s.done)
			}
		}
	}()
	return s
}

// send queues b, or returns fn's error (releasing b) if the stage failed.
func (s *stage) send(b arrow.RecordBatch) error {
	return s.queue(stageItem{b: b})
}

// sendBarrier queues f to run after the batches sent before it and before
// those sent after it, or returns fn's error if the stage failed.
func (s *stage) sendBarrier(f func() error) error {
	return s.queue(stageItem{barrier: f})
}

func (s *stage) queue(it stageItem) error {
	select {
	case <-s.done:
		if it.b != nil {
			it.b.Release()
		}
		return s.err
	default:
	}
	select {
	case s.ch <- it:
		return nil
	case <-s.done:
		if it.b != nil {
			it.b.Release()
		}
		return s.err
	}
}

// close waits for every queued batch to be processed and returns fn's
// first error. It may be called more than once.
func (s *stage) close() error {
	s.once.Do(func() { close(s.ch) })
	<-s.exited
	return s.err
}
