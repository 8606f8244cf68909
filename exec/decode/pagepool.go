package decode

import (
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/internal/bufpool"
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
var pageBuffers memory.Allocator = &pooledAllocator{pool: bufpool.New(12, 26)}

// pooledAllocator is a memory.Allocator over a bufpool.Pool. Its buffers
// are zeroed, as Go's allocator's are, and 64-byte aligned, as arrow
// requires (power-of-two blocks of 4 KiB and more are aligned to their
// size by Go's allocator; a block that is not is neither used nor pooled).
type pooledAllocator struct {
	pool *bufpool.Pool
}

func aligned(b []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 == 0
}

func (a *pooledAllocator) Allocate(size int) []byte {
	b := a.pool.Get(size)
	if !aligned(b[:cap(b)]) {
		return memory.DefaultAllocator.Allocate(size)
	}
	clear(b)
	return b
}

func (a *pooledAllocator) Reallocate(size int, b []byte) []byte {
	if cap(b) >= size {
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free pools b unless it is misaligned (memory.DefaultAllocator's buffers,
// handed out when a pooled block was not aligned, usually are).
func (a *pooledAllocator) Free(b []byte) {
	if cap(b) > 0 && aligned(b[:cap(b)]) {
		a.pool.Put(b)
	}
}
