package exec

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
)

// countingStore counts the GETs started.
type countingStore struct {
	objstore.Store
	gets atomic.Int64
}

func (s *countingStore) Get(ctx context.Context, key string) (io.ReadCloser, objstore.ObjectInfo, error) {
	s.gets.Add(1)
	return s.Store.Get(ctx, key)
}

// A consumer slower than the store holds at most `concurrency` objects
// fetched ahead, however large the run's byte budget.
func TestPrefetchReadAheadIsBounded(t *testing.T) {
	dir := t.TempDir()
	const n, conc = 40, 3
	keys := make([]string, n)
	sizes := make([]int64, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d.json", i)
		body := fmt.Sprintf("{\"i\":%02d}\n", i) // 8 bytes
		if err := os.WriteFile(filepath.Join(dir, keys[i]), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		sizes[i] = int64(len(body))
	}
	store := &countingStore{Store: objstore.NewLocal(dir)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	budget := newByteBudget(1 << 30)
	ch, done := prefetch(ctx, store, keys, sizes, conc, budget)
	for i := 0; i < n; i++ {
		f := <-ch
		if f.err != nil || f.idx != i || string(f.data) != fmt.Sprintf("{\"i\":%02d}\n", i) {
			t.Fatalf("object %d: got idx %d data %q err %v", i, f.idx, f.data, f.err)
		}
		if i == 0 {
			// Give the fetchers time to run ahead as far as they may.
			time.Sleep(50 * time.Millisecond)
			// Delivered (1, its slot freed on delivery) + `conc` ahead.
			if got := store.gets.Load(); got > conc+1 {
				t.Fatalf("%d GETs started while the consumer holds the first object, want at most %d", got, conc+1)
			}
		}
		done(sizes[i])
		recycle(f.data)
	}
	if _, ok := <-ch; ok {
		t.Fatal("channel not closed after the last object")
	}
	budget.mu.Lock()
	defer budget.mu.Unlock()
	if budget.used != 0 {
		t.Errorf("budget holds %d bytes after every object was done", budget.used)
	}
}

// Large objects are read ahead by bytes too: objects of 3 MiB with 32
// slots hold at most readAheadBytes (plus the one delivered).
func TestPrefetchReadAheadBytes(t *testing.T) {
	dir := t.TempDir()
	const n, size = 12, 3 << 20
	keys := make([]string, n)
	sizes := make([]int64, n)
	body := make([]byte, size)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%03d.json", i)
		if err := os.WriteFile(filepath.Join(dir, keys[i]), body, 0o644); err != nil {
			t.Fatal(err)
		}
		sizes[i] = size
	}
	store := &countingStore{Store: objstore.NewLocal(dir)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, done := prefetch(ctx, store, keys, sizes, 32, newByteBudget(1<<30))
	for i := 0; i < n; i++ {
		f := <-ch
		if f.err != nil || f.idx != i || len(f.data) != size {
			t.Fatalf("object %d: idx %d, %d bytes, %v", i, f.idx, len(f.data), f.err)
		}
		if i == 0 {
			time.Sleep(50 * time.Millisecond)
			if got, want := store.gets.Load(), int64(readAheadBytes/size); got > want {
				t.Fatalf("%d GETs started while the consumer holds the first object, want at most %d", got, want)
			}
		}
		done(sizes[i])
	}
}

func TestGetBufCapacity(t *testing.T) {
	for _, n := range []int64{0, 1, 4095, 4096, 4097, 100_000, 16 << 20, 16<<20 + 1, 40 << 20} {
		b := getBuf(n)
		if len(b) != 0 || int64(cap(b)) < n {
			t.Errorf("getBuf(%d): len %d cap %d", n, len(b), cap(b))
		}
		b = append(b, 'x')
		recycle(b)
	}
	// A recycled buffer of any capacity only serves requests it can hold.
	recycle(make([]byte, 10, 9000))
	for range 3 {
		if b := getBuf(8192); cap(b) < 8192 || len(b) != 0 {
			t.Fatalf("getBuf(8192) after recycling: len %d cap %d", len(b), cap(b))
		}
	}
}
