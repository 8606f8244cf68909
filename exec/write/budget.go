package write

import (
	"sync"
	"sync/atomic"
)

// Budget bounds the bytes that the open files of one or more Writers buffer
// in memory (for Parquet: the open row groups, which are written to the
// upload only when the row group closes). When the sum passes the limit, the
// Writer that noticed it closes row groups early, largest buffer first.
//
// A Budget is safe for concurrent use by the Writers of several tasks. It
// never blocks: a Writer only ever flushes its own files (a Writer is not
// safe for concurrent use), so when the largest buffer belongs to another
// Writer, that file is marked and its owner flushes it at its next Write or
// Close, while the noticing Writer flushes its own largest buffers meanwhile.
//
// The counted bytes are the uncompressed size of the rows in open row groups,
// an upper bound on what the encoder holds up to compression (its pages are
// compressed as they fill, dictionaries hold distinct values once), chosen
// because it is cheap, deterministic and never underestimates.
type Budget struct {
	limit int64

	mu    sync.Mutex
	total int64
	held  map[*openFile]int64

	flushes atomic.Int64
}

// NewBudget returns a budget of limit bytes; limit <= 0 means unbounded.
func NewBudget(limit int64) *Budget {
	return &Budget{limit: limit, held: map[*openFile]int64{}}
}

// Limit is the budget's limit in bytes (<= 0: unbounded).
func (b *Budget) Limit() int64 { return b.limit }

// Buffered is the sum of the bytes currently buffered by all open files.
func (b *Budget) Buffered() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.total
}

// Flushes counts the row groups closed early because of this budget.
func (b *Budget) Flushes() int64 { return b.flushes.Load() }

// set records that f now buffers n bytes and reports whether the budget is
// exceeded.
func (b *Budget) set(f *openFile, n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += n - b.held[f]
	if n > 0 {
		b.held[f] = n
	} else {
		delete(b.held, f)
	}
	return b.limit > 0 && b.total > b.limit
}

// pick chooses the file owner should flush now to get back under the limit,
// or nil when owner holds nothing. If the largest buffer overall belongs to
// another Writer, it is marked for its owner and owner's largest is chosen.
func (b *Budget) pick(owner *Writer) *openFile {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.limit <= 0 || b.total <= b.limit {
		return nil
	}
	var largest, mine *openFile
	for f, n := range b.held {
		if largest == nil || n > b.held[largest] {
			largest = f
		}
		if f.owner == owner && (mine == nil || n > b.held[mine]) {
			mine = f
		}
	}
	if largest != nil && largest.owner != owner {
		largest.flushReq.Store(true)
	}
	return mine
}
