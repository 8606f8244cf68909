package decode

import (
	"testing"
	"unsafe"
)

// A recycled buffer comes back zeroed, aligned and of the asked length,
// and Reallocate keeps the contents while freeing the old block.
func TestPooledAllocator(t *testing.T) {
	p := pageBuffers
	check := func(b []byte, size int) {
		t.Helper()
		if len(b) != size {
			t.Fatalf("len %d, want %d", len(b), size)
		}
		if uintptr(unsafe.Pointer(unsafe.SliceData(b)))%64 != 0 {
			t.Fatalf("buffer of %d bytes not 64-byte aligned", size)
		}
		for i, c := range b {
			if c != 0 {
				t.Fatalf("byte %d of a fresh %d-byte buffer is %d", i, size, c)
			}
		}
	}
	for _, size := range []int{0, 1, 100, 4096, 4097, 16 << 10, 1<<20 + 3, 70 << 20} {
		b := p.Allocate(size)
		check(b, size)
		for i := range b {
			b[i] = 0xab
		}
		p.Free(b)
		c := p.Allocate(size) // likely the same block: must be zeroed again
		check(c, size)
		p.Free(c)
	}
	b := p.Allocate(5000)
	for i := range b {
		b[i] = byte(i)
	}
	g := p.Reallocate(20000, b)
	if len(g) != 20000 {
		t.Fatalf("Reallocate: len %d", len(g))
	}
	for i := 0; i < 5000; i++ {
		if g[i] != byte(i) {
			t.Fatalf("Reallocate lost byte %d", i)
		}
	}
	if s := p.Reallocate(100, g); len(s) != 100 || &s[0] != &g[0] {
		t.Fatal("Reallocate to a smaller size must reslice in place")
	}
}
