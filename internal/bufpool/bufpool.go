package bufpool

import (
	"math/bits"
	"sync"
)

// Pool holds buffers of capacities 1<<minShift to 1<<maxShift bytes. The
// zero Pool is not usable: call New.
type Pool struct {
	minShift, maxShift int
	classes            []sync.Pool // classes[i]: capacity at least 1<<(minShift+i)
}

// New returns a Pool for capacities between 1<<minShift and 1<<maxShift.
func New(minShift, maxShift int) *Pool {
	return &Pool{minShift: minShift, maxShift: maxShift, classes: make([]sync.Pool, maxShift-minShift+1)}
}

// Get returns a buffer of length n whose capacity is at least n: a
// recycled one when the pool has one of n's class, else a new one of the
// class's size (of exactly n past the largest class). A recycled buffer
// holds what its last user left: callers that need zeroes clear it.
func (p *Pool) Get(n int) []byte {
	shift := max(bits.Len(uint(max(n, 1)-1)), p.minShift)
	if shift > p.maxShift {
		return make([]byte, n)
	}
	if b, ok := p.classes[shift-p.minShift].Get().(*[]byte); ok {
		return (*b)[:n]
	}
	return make([]byte, n, 1<<shift)
}

// Put hands b back for reuse; the caller must hold no reference into it
// any more. A buffer smaller than the smallest class, or larger than the
// largest, is left to the garbage collector.
func (p *Pool) Put(b []byte) {
	c := cap(b)
	if c < 1<<p.minShift {
		return
	}
	shift := bits.Len(uint(c)) - 1 // the largest class whose capacity b meets
	if shift > p.maxShift {
		return
	}
	b = b[:c]
	p.classes[shift-p.minShift].Put(&b)
}
