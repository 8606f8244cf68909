package decode

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// pageBuffers is the allocator of the Parquet readers' own buffers: the
// page reader's decompression, data page and dictionary page buffers and the
// column decoders. arrow-go sizes each column's first buffer at 16 KiB and
// grows it per page, so reading 5,000 small files of 20 columns allocated
// (and zeroed) about 1.6 GB of buffers that live for one file: a tenth of
// the CPU of Parquet compaction went to allocating them and collecting them.
// Recycling them by size class removes that.
//
// Only the readers' internals get this allocator: the arrays a reader
// returns are built with Options.Alloc, so no buffer handed to the rest of
// the executor is ever reused. Inside arrow-go, a buffer is freed when its
// page reader closes, after which nothing of it is read (the decoders that
// pointed into a dictionary page are replaced with the page reader).
var pageBuffers memory.Allocator = newSizeClassPool()

const (
	minPooledShift = 12 // 4 KiB: smaller buffers are cheap to allocate
	maxPooledShift = 26 // 64 MiB: larger ones are rare and stay unpooled
)

// sizeClassPool recycles power-of-two buffers through one sync.Pool per
// size (a pool drops what it holds at garbage collection, so it never pins
// memory). Buffers it hands out are zeroed, as Go's allocator's are, and
// 64-byte aligned, as arrow requires.
type sizeClassPool struct {
	classes [maxPooledShift + 1]sync.Pool
}

func newSizeClassPool() *sizeClassPool { return &sizeClassPool{} }

func sizeClass(n int) int {
	if n <= 1<<minPooledShift {
		return minPooledShift
	}
	return bits.Len(uint(n - 1))
}

func (p *sizeClassPool) Allocate(size int) []byte {
	c := sizeClass(size)
	if c > maxPooledShift {
		return memory.DefaultAllocator.Allocate(size)
	}
	if v, ok := p.classes[c].Get().(*[]byte); ok {
		b := (*v)[:size]
		clear(b)
		return b
	}
	b := make([]byte, 1<<c)
	// Power-of-two sizes of 4 KiB and more are aligned to their size by
	// Go's allocator; a block that is not 64-byte aligned is never pooled.
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 != 0 {
		return memory.DefaultAllocator.Allocate(size)
	}
	return b[:size]
}

func (p *sizeClassPool) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free pools b if it is one of this pool's blocks (a power-of-two capacity
// in range); anything else is left to the garbage collector.
func (p *sizeClassPool) Free(b []byte) {
	n := cap(b)
	if n < 1<<minPooledShift || n > 1<<maxPooledShift || n&(n-1) != 0 {
		return
	}
	if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 != 0 {
		return
	}
	b = b[:n]
	p.classes[bits.Len(uint(n))-1].Put(&b)
}
