package planner

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// Front coding, packed ETags and chunking must be invisible: every input
// reads back exactly, by index and in order, across restart points and
// chunk boundaries.
func TestInputsRoundTrip(t *testing.T) {
	in := NewInputs("lake/", []string{"dt", "region"})
	type rec struct {
		key, etag string
		size      int64
	}
	var want []rec
	rng := rand.New(rand.NewPCG(1, 2))
	etags := func(i int) string {
		switch i % 5 {
		case 0:
			return fmt.Sprintf("\"%032x\"", rng.Uint64()) // packed
		case 1:
			return fmt.Sprintf("\"%032x-3\"", i) // multipart: raw
		case 2:
			return ""
		case 3:
			return fmt.Sprintf("\"%032X\"", i) // upper case: raw, kept as is
		}
		return "w/\"weird\\\"etag\""
	}
	for i := 0; i < 70_000; i++ {
		var key string
		if i%7 == 0 {
			key = fmt.Sprintf("lake/dt=2026-%02d-01/region=%s/%s.json", i%12+1, strings.Repeat("x", i%300), fmt.Sprint(i))
		} else {
			key = fmt.Sprintf("lake/dt=2026-01-01/region=eu/part-%07d.json", i)
		}
		r := rec{key: key, etag: etags(i), size: int64(i * 3)}
		want = append(want, r)
		in.Add(r.key, r.size, r.etag)
	}
	if in.Len() != len(want) || len(in.chunks) < 2 {
		t.Fatalf("len %d, %d chunks", in.Len(), len(in.chunks))
	}
	for _, i := range []int{0, 1, 15, 16, 17, 12345, len(want) - 1} {
		got := in.At(i)
		if got.Key != want[i].key || got.ETag != want[i].etag || got.Size != want[i].size {
			t.Fatalf("At(%d) = %+v, want %+v", i, got, want[i])
		}
	}
	if got := in.At(1).Partitions; !reflect.DeepEqual(got, []string{"2026-01-01", "eu"}) {
		t.Fatalf("partitions %v", got)
	}
	n := 0
	in.Each(func(i int, rel []byte, size int64, etag []byte) bool {
		if "lake/"+string(rel) != want[i].key || string(etag) != want[i].etag || size != want[i].size {
			t.Fatalf("Each(%d) = %s %s %d, want %+v", i, rel, etag, size, want[i])
		}
		n++
		return true
	})
	if n != len(want) {
		t.Fatalf("Each visited %d", n)
	}
}
