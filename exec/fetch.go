package exec

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sluicedata/sluice/internal/bufpool"
	"github.com/sluicedata/sluice/objstore"
)

// fetched is one input object read into memory, or the error reading it.
type fetched struct {
	idx  int
	data []byte
	etag string        // the ETag the GET returned
	took time.Duration // how long the GET took
	err  error
	// slot: the fetch holds one of prefetch's read-ahead slots, freed
	// when the object is delivered.
	slot bool
}

// byteBudget is a counting semaphore over bytes: it bounds how much fetched
// data is in memory at once. A request larger than the whole budget is
// admitted alone (when nothing else is held) so a big file never deadlocks.
type byteBudget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	limit int64
	used  int64
}

func newByteBudget(limit int64) *byteBudget {
	b := &byteBudget{limit: limit}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *byteBudget) acquire(ctx context.Context, n int64) error {
	// sync.Cond knows nothing of contexts: wake the waiters on cancellation.
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used > 0 && b.used+n > b.limit {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		b.cond.Wait()
	}
	b.used += n
	return nil
}

func (b *byteBudget) release(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// readAheadBytes bounds the bytes one prefetch holds ahead of its consumer
// (in flight or waiting), besides the count of objects: 32 objects of
// ~50 KB hide S3's latency, but 32 of 500 KB held 16 MiB per task — most
// of a run's peak memory on the nested-events benchmark. 8 MiB is still
// about 50 ms of a task's decoding, a GET's latency. An object larger than
// this is fetched alone.
const readAheadBytes = 8 << 20

// prefetch GETs the objects keys[i] (of sizes[i]) with up to `concurrency`
// requests in flight and at most budget bytes held, and delivers them in
// index order on the returned channel: S3 is latency-bound, so dozens of
// small GETs must overlap, but decoding stays in key order so outputs are
// deterministic. At most `concurrency` objects and readAheadBytes are
// fetched ahead of the consumer (in flight or waiting), besides the byte
// budget: a consumer slower than the store (decoding local files) would
// otherwise hold up to the whole budget of fetched objects, most of a
// run's peak memory. The consumer must call done(n) after it has finished
// with a delivered object's bytes. A consumer that stops early must cancel
// ctx, which stops the fetches and lets every goroutine here exit.
//
// Objects whose size is negative are not fetched: they are delivered at
// once with no data (the caller streams them itself) and hold no budget.
func prefetch(ctx context.Context, store objstore.Store, keys []string, sizes []int64,
	concurrency int, budget *byteBudget) (<-chan fetched, func(n int64)) {
	out := make(chan fetched)
	if concurrency < 1 {
		concurrency = 1
	}
	slots := make([]chan fetched, len(keys))
	for i := range slots {
		slots[i] = make(chan fetched, 1)
	}
	sem := make(chan struct{}, concurrency)
	ahead := newByteBudget(readAheadBytes)
	release := func(n int64) {
		budget.release(n)
		ahead.release(n)
	}
	go func() {
		// Launch in order; each launch first reserves its bytes so the
		// in-order consumer can always make progress.
		for i := range keys {
			if sizes[i] < 0 {
				slots[i] <- fetched{idx: i}
				continue
			}
			if err := ahead.acquire(ctx, sizes[i]); err != nil {
				slots[i] <- fetched{idx: i, err: err}
				for j := i + 1; j < len(keys); j++ {
					slots[j] <- fetched{idx: j, err: err}
				}
				return
			}
			if err := budget.acquire(ctx, sizes[i]); err != nil {
				ahead.release(sizes[i])
				slots[i] <- fetched{idx: i, err: err}
				for j := i + 1; j < len(keys); j++ {
					slots[j] <- fetched{idx: j, err: err}
				}
				return
			}
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				release(sizes[i])
				for j := i; j < len(keys); j++ {
					slots[j] <- fetched{idx: j, err: ctx.Err()}
				}
				return
			}
			go func(i int) {
				start := time.Now()
				data, etag, err := getAll(ctx, store, keys[i], sizes[i])
				slots[i] <- fetched{idx: i, data: data, etag: etag, err: err, slot: true, took: time.Since(start)}
			}(i)
		}
	}()
	go func() {
		defer close(out)
		for i := range slots {
			f := <-slots[i]
			select {
			case out <- f:
				if f.slot {
					<-sem
				}
			case <-ctx.Done():
				// Drain so that senders never block; release what they hold.
				release(max(sizes[i], 0))
				for j := i + 1; j < len(slots); j++ {
					<-slots[j]
				}
				return
			}
		}
	}()
	return out, release
}

// getAll reads a whole object; size is a capacity hint from the listing.
func getAll(ctx context.Context, store objstore.Store, key string, size int64) ([]byte, string, error) {
	rc, info, err := store.Get(ctx, key)
	if err != nil {
		return nil, "", err
	}
	defer rc.Close()
	buf := getBuf(size + bytesMinRead)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := rc.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, info.ETag, nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: read: %w", key, err)
		}
	}
}

const bytesMinRead = 512

// fetchBuffers recycles fetched objects' buffers once decoded (see
// recycle): with thousands of small objects per task they are a third of
// everything a run allocates, and the GC work that follows. Objects over
// 16 MiB are rare and not kept.
var fetchBuffers = bufpool.New(12, 24)

// getBuf returns an empty buffer with capacity for at least n bytes.
func getBuf(n int64) []byte { return fetchBuffers.Get(int(n))[:0] }

// recycle returns a buffer from getAll for reuse. The caller must hold no
// reference into it: only text objects are recycled, whose decoders copy
// every value into arrow builders.
func recycle(b []byte) { fetchBuffers.Put(b) }
