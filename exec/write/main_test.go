package write

import (
	"bytes"
	"os"
	"testing"

	"github.com/klauspost/compress/snappy"
)

func TestMain(m *testing.M) {
	// FASTSNAPPY=1 measures the benchmark with UseFastSnappy.
	if os.Getenv("FASTSNAPPY") != "" {
		UseFastSnappy()
	}
	os.Exit(m.Run())
}

// TestFastSnappyCodec: the fast encoder's blocks decode with the snappy
// decoder arrow-go uses, for compressible and incompressible input.
func TestFastSnappyCodec(t *testing.T) {
	var c fastSnappy
	inputs := [][]byte{nil, []byte("a"), bytes.Repeat([]byte("sluice "), 10000)}
	rnd := make([]byte, 100000)
	for i := range rnd {
		rnd[i] = byte(i*7919 ^ i>>3)
	}
	inputs = append(inputs, rnd)
	for _, in := range inputs {
		enc := c.Encode(make([]byte, 0, c.CompressBound(int64(len(in)))), in)
		out, err := snappy.Decode(nil, enc)
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip of %d bytes: %v", len(in), err)
		}
		if got := c.Decode(nil, enc); !bytes.Equal(got, in) {
			t.Fatalf("Decode of %d bytes differs", len(in))
		}
	}
}
