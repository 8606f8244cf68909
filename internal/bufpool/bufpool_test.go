package bufpool

import "testing"

func TestGetPut(t *testing.T) {
	p := New(12, 20)
	for _, n := range []int{0, 1, 4096, 4097, 1 << 20, 1<<20 + 1} {
		b := p.Get(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
		}
		if n <= 1<<20 && cap(b)&(cap(b)-1) != 0 {
			t.Fatalf("Get(%d): capacity %d is not a class size", n, cap(b))
		}
		p.Put(b)
	}
	// A buffer grown past its class (append) goes to the class its capacity
	// meets, and serves requests of that class.
	b := make([]byte, 0, 6000)
	p.Put(b)
	for i := 0; i < 100; i++ { // sync.Pool may drop it: look a few times
		g := p.Get(4096)
		if cap(g) < 4096 || len(g) != 4096 {
			t.Fatalf("Get(4096) after Put of cap 6000: len %d cap %d", len(g), cap(g))
		}
	}
	// Reuse keeps contents (no zeroing promised) and never hands out a
	// buffer too small.
	x := p.Get(5000)
	x[0] = 7
	p.Put(x)
	y := p.Get(8192)
	if cap(y) < 8192 {
		t.Fatalf("cap %d < 8192", cap(y))
	}
	p.Put(make([]byte, 100))   // too small: dropped
	p.Put(make([]byte, 4<<20)) // too large: dropped
	if g := p.Get(100); len(g) != 100 || cap(g) < 4096 {
		t.Fatalf("Get(100): len %d cap %d, want the smallest class", len(g), cap(g))
	}
}
