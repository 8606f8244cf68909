package eval

import (
	"bytes"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file holds the low-level helpers every kernel uses: typed views over
// Arrow buffers (no copies, no per-row interface calls) and constructors
// for result arrays from buffers allocated on the evaluation's allocator.

// fixed is the set of fixed-width element types kernels read directly
// from an array's value buffer.
type fixed interface {
	~int32 | ~int64 | ~float32 | ~float64 | decimal128.Num
}

// numeric is the set of element types arithmetic and comparisons run on.
type numeric interface {
	~int32 | ~int64 | ~float32 | ~float64
}

// valuesOf returns the values of a fixed-width array as a []T that aliases
// its buffer (respecting the array's offset). T must match the storage
// width (int32 for date32, int64 for timestamps, ...).
func valuesOf[T fixed](a arrow.Array) []T {
	d := a.Data()
	bufs := d.Buffers()
	if len(bufs) < 2 || bufs[1] == nil || d.Len() == 0 {
		return nil
	}
	b := bufs[1].Bytes()
	var z T
	all := unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(z)))
	return all[d.Offset() : d.Offset()+d.Len()]
}

// offsetsOf returns the n+1 offsets of a (large) string or binary array.
func offsetsOf[O int32 | int64](a arrow.Array) []O {
	d := a.Data()
	bufs := d.Buffers()
	if bufs[1] == nil || d.Len() == 0 {
		return make([]O, d.Len()+1) // all empty values
	}
	b := bufs[1].Bytes()
	var z O
	all := unsafe.Slice((*O)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(z)))
	return all[d.Offset() : d.Offset()+d.Len()+1]
}

// strView is a zero-copy view of a string/binary array: value i is
// data[offs[i]:offs[i+1]].
type strView[O int32 | int64] struct {
	offs []O
	data []byte
}

func (s strView[O]) at(i int) []byte { return s.data[s.offs[i]:s.offs[i+1]] }

func viewOf[O int32 | int64](a arrow.Array) strView[O] {
	v := strView[O]{offs: offsetsOf[O](a)}
	if bufs := a.Data().Buffers(); len(bufs) > 2 && bufs[2] != nil {
		v.data = bufs[2].Bytes()
	}
	return v
}

// isLarge reports whether a string/binary array has 64-bit offsets.
func isLarge(a arrow.Array) bool {
	id := a.DataType().ID()
	return id == arrow.LARGE_STRING || id == arrow.LARGE_BINARY
}

// view64 returns a view with 64-bit offsets, converting 32-bit ones; it is
// used only where two string arrays of different offset widths meet.
func view64(a arrow.Array) strView[int64] {
	if isLarge(a) {
		return viewOf[int64](a)
	}
	v32 := viewOf[int32](a)
	offs := make([]int64, len(v32.offs))
	for i, o := range v32.offs {
		offs[i] = int64(o)
	}
	return strView[int64]{offs: offs, data: v32.data}
}

// bitsOf returns the bitmap and bit offset of a boolean array's values.
func bitsOf(a arrow.Array) ([]byte, int) {
	d := a.Data()
	if b := d.Buffers()[1]; b != nil {
		return b.Bytes(), d.Offset()
	}
	return nil, 0
}

// validityOf returns the validity bitmap and bit offset of a, or nil when
// a has no nulls (so callers skip bitmap work).
func validityOf(a arrow.Array) ([]byte, int) {
	if a.NullN() == 0 {
		return nil, 0
	}
	d := a.Data()
	return d.Buffers()[0].Bytes(), d.Offset()
}

// aligned returns n bits of bm starting at bit off as a byte slice whose
// bit 0 is the first bit, copying only when off is not a multiple of 8.
func aligned(bm []byte, off, n int) []byte {
	if off%8 == 0 {
		return bm[off/8:]
	}
	out := make([]byte, bitutil.BytesForBits(int64(n)))
	bitutil.CopyBitmap(bm, off, n, out, 0)
	return out
}

// newBuf allocates a zeroed buffer of size bytes on mem.
func newBuf(mem memory.Allocator, size int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(size)
	clear(b.Bytes())
	return b
}

// newBitmap allocates a zeroed bitmap of n bits.
func newBitmap(mem memory.Allocator, n int) *memory.Buffer {
	return newBuf(mem, int(bitutil.BytesForBits(int64(n))))
}

// onesBitmap allocates a bitmap of n bits, all set.
func onesBitmap(mem memory.Allocator, n int) *memory.Buffer {
	b := newBitmap(mem, n)
	bitutil.SetBitsTo(b.Bytes(), 0, int64(n), true)
	return b
}

// validityAnd returns the validity of a row-wise operation over arrs (a row
// is valid when it is valid in every input), or nil when no input has a
// null.
func validityAnd(mem memory.Allocator, n int, arrs ...arrow.Array) *memory.Buffer {
	var out *memory.Buffer
	for _, a := range arrs {
		if a == nil {
			continue
		}
		bm, off := validityOf(a)
		if bm == nil {
			continue
		}
		if out == nil {
			out = newBitmap(mem, n)
			bitutil.CopyBitmap(bm, off, n, out.Bytes(), 0)
			continue
		}
		src := aligned(bm, off, n)
		dst := out.Bytes()
		for i := range dst {
			dst[i] &= src[i]
		}
	}
	return out
}

// makeArray builds an array of dt from buffers it takes ownership of
// (validity may be nil: no nulls).
func makeArray(dt arrow.DataType, n int, validity *memory.Buffer, bufs ...*memory.Buffer) arrow.Array {
	nulls := 0
	if validity != nil {
		nulls = array.UnknownNullCount
	}
	all := append([]*memory.Buffer{validity}, bufs...)
	data := array.NewData(dt, n, all, nil, nulls, 0)
	arr := array.MakeFromData(data)
	data.Release()
	for _, b := range all {
		if b != nil {
			b.Release()
		}
	}
	return arr
}

// dropAllValid releases validity and returns nil when every bit is set, so
// results without nulls carry no bitmap.
func dropAllValid(validity *memory.Buffer, n int) *memory.Buffer {
	if validity != nil && bitutil.CountSetBits(validity.Bytes(), 0, n) == n {
		validity.Release()
		return nil
	}
	return validity
}

// newFixed allocates the value buffer for n elements of T and returns it
// with a typed view.
func newFixed[T fixed](mem memory.Allocator, n int) (*memory.Buffer, []T) {
	var z T
	b := newBuf(mem, n*int(unsafe.Sizeof(z)))
	bs := b.Bytes()
	return b, unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(bs))), n)
}

// setBit sets bit i of a byte slice whose length is known to cover i.
func setBit(bm []byte, i int) { bm[i>>3] |= 1 << (uint(i) & 7) }

func bitAt(bm []byte, i int) bool { return bm[i>>3]&(1<<(uint(i)&7)) != 0 }

// eqBytes reports whether a equals p, which must have the same length. For
// the short values predicates usually compare (region codes, prefixes) a
// plain loop beats the call into memequal.
func eqBytes(a []byte, p []byte) bool {
	if len(p) > 16 {
		return bytes.Equal(a, p)
	}
	a = a[:len(p)]
	for i, c := range p {
		if a[i] != c {
			return false
		}
	}
	return true
}
