package state

import (
	"container/heap"
	"context"
)

// Iterator streams the union of a HEAD's segments in key order, one entry
// per key. When a key is in several segments the newest segment wins (a
// reprocessed object's latest ETag is what later runs compare against).
// Memory is one buffered reader per segment.
type Iterator struct {
	h    cursorHeap
	cur  Entry
	err  error
	done bool
}

type cursor struct {
	r   *segmentReader
	e   Entry
	age int // index in Head.Segments: higher is newer
}

type cursorHeap []*cursor

func (h cursorHeap) Len() int { return len(h) }
func (h cursorHeap) Less(i, j int) bool {
	if h[i].e.Key != h[j].e.Key {
		return h[i].e.Key < h[j].e.Key
	}
	return h[i].age > h[j].age
}
func (h cursorHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *cursorHeap) Push(x any)   { *h = append(*h, x.(*cursor)) }
func (h *cursorHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// Entries opens every segment of head and returns the merged iterator. The
// caller must Close it.
func (s *Bookmarks) Entries(ctx context.Context, head Head) (*Iterator, error) {
	it := &Iterator{}
	for i, name := range head.Segments {
		r, err := s.openSegment(ctx, name)
		if err != nil {
			it.Close()
			return nil, err
		}
		c := &cursor{r: r, age: i}
		ok, err := it.advance(c)
		if err != nil {
			r.Close()
			it.Close()
			return nil, err
		}
		if ok {
			it.h = append(it.h, c)
		} else {
			r.Close()
		}
	}
	heap.Init(&it.h)
	return it, nil
}

// advance reads c's next entry, checking that the segment is sorted.
func (it *Iterator) advance(c *cursor) (bool, error) {
	prev := c.e.Key
	hadPrev := c.e != (Entry{})
	e, ok, err := c.r.next()
	if err != nil || !ok {
		return false, err
	}
	if hadPrev && e.Key <= prev {
		return false, &unsortedError{segment: c.r.name, key: e.Key, prev: prev}
	}
	c.e = e
	return true, nil
}

type unsortedError struct{ segment, key, prev string }

func (e *unsortedError) Error() string {
	return "state: segment " + e.segment + " is not sorted: " + e.key + " after " + e.prev
}

// Next moves to the next key; it returns false at the end or on an error
// (see Err).
func (it *Iterator) Next() bool {
	if it.done || it.err != nil || len(it.h) == 0 {
		it.done = true
		return false
	}
	top := it.h[0]
	it.cur = top.e
	// Drop the older copies of this key, then move every touched cursor on.
	for len(it.h) > 0 && it.h[0].e.Key == it.cur.Key {
		c := it.h[0]
		ok, err := it.advance(c)
		if err != nil {
			it.err = err
			return false
		}
		if ok {
			heap.Fix(&it.h, 0)
		} else {
			heap.Pop(&it.h)
			c.r.Close()
		}
	}
	return true
}

// Entry is the current entry.
func (it *Iterator) Entry() Entry { return it.cur }

// Err is the error that stopped the iteration, if any.
func (it *Iterator) Err() error { return it.err }

// Close releases every open segment.
func (it *Iterator) Close() error {
	for _, c := range it.h {
		c.r.Close()
	}
	it.h = nil
	it.done = true
	return nil
}
