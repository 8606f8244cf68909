package decode

import (
	"bytes"
	"compress/bzip2"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec"
)

var payload = []byte(strings.Repeat(`{"order_id":"o-1","amount":12.5}`+"\n", 5000))

func gz(p []byte) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

func zst(p []byte) []byte {
	w, _ := zstd.NewWriter(nil)
	defer w.Close()
	return w.EncodeAll(p, nil)
}

func sz(p []byte) []byte {
	var b bytes.Buffer
	w := snappy.NewBufferedWriter(&b)
	w.Write(p)
	w.Close()
	return b.Bytes()
}

// bz2 uses the testdata fixture: the standard library has no bzip2 writer.
func bz2(t *testing.T) []byte {
	b, err := os.ReadFile("testdata/payload.json.bz2")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readAll(t *testing.T, data []byte, key string, c spec.Compression) ([]byte, error) {
	t.Helper()
	rc, err := Decompress(bytes.NewReader(data), key, c)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestDecompressRoundTrip(t *testing.T) {
	bz := bz2(t)
	if got, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(bz))); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("testdata/payload.json.bz2 does not hold the payload (%v); regenerate it with bzip2", err)
	}
	cases := []struct {
		name string
		data []byte
		key  string
		c    spec.Compression
	}{
		{"gzip by ext", gz(payload), "a/x.json.gz", spec.CompressionAuto},
		{"gzip by magic", gz(payload), "a/x.json", spec.CompressionAuto},
		{"gzip named", gz(payload), "a/x", spec.CompressionGzip},
		{"zstd by ext", zst(payload), "a/x.json.zst", spec.CompressionAuto},
		{"zstd by magic", zst(payload), "a/x", spec.CompressionAuto},
		{"snappy .sz", sz(payload), "a/x.json.sz", spec.CompressionAuto},
		{"snappy .snappy", sz(payload), "a/x.snappy", spec.CompressionAuto},
		{"snappy by magic", sz(payload), "a/x", spec.CompressionAuto},
		{"snappy named", sz(payload), "a/x", spec.CompressionSnappy},
		{"bzip2 by ext", bz, "a/x.json.bz2", spec.CompressionAuto},
		{"bzip2 by magic", bz, "a/x.json", spec.CompressionAuto},
		{"bzip2 named", bz, "a/x", spec.CompressionBzip2},
		{"plain auto", payload, "a/x.json", spec.CompressionAuto},
		{"plain none", payload, "a/x.json.gz", spec.CompressionNone},
		{"multi-member gzip", append(gz(payload[:1000]), gz(payload[1000:])...), "a/x.gz", spec.CompressionAuto},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(t, c.data, c.key, c.c)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("got %d bytes, want %d", len(got), len(payload))
			}
		})
	}
	// Text that merely starts with "BZh" is not bzip2.
	if got, err := readAll(t, []byte("BZh is a word\n"), "x.txt", spec.CompressionAuto); err != nil || string(got) != "BZh is a word\n" {
		t.Fatalf("got %q, %v", got, err)
	}
	// Tiny inputs shorter than any magic.
	if got, err := readAll(t, []byte("{}"), "x.json", spec.CompressionAuto); err != nil || string(got) != "{}" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDecompressTruncatedAndCorrupt(t *testing.T) {
	g, z, s, b := gz(payload), zst(payload), sz(payload), bz2(t)
	corrupt := func(p []byte) []byte {
		q := bytes.Clone(p)
		q[len(q)/2] ^= 0xff
		return q
	}
	cases := []struct {
		name, key string
		data      []byte
		codec     string
	}{
		{"gzip truncated", "orders/a.json.gz", g[:len(g)/2], "gzip"},
		{"gzip trailer cut", "orders/a.json.gz", g[:len(g)-4], "gzip"},
		{"gzip corrupt", "orders/a.json.gz", corrupt(g), "gzip"},
		{"gzip header only", "orders/a.json.gz", g[:5], "gzip"},
		{"gzip empty", "orders/a.json.gz", nil, "gzip"},
		{"zstd truncated", "orders/a.json.zst", z[:len(z)/2], "zstd"},
		{"zstd corrupt", "orders/a.json.zst", corrupt(z), "zstd"},
		{"snappy truncated", "orders/a.json.sz", s[:len(s)/2], "snappy"},
		{"snappy corrupt", "orders/a.json.sz", corrupt(s), "snappy"},
		{"bzip2 truncated", "orders/a.json.bz2", b[:len(b)/2], "bzip2"},
		{"bzip2 corrupt", "orders/a.json.bz2", corrupt(b), "bzip2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.data, c.key, spec.CompressionAuto)
			var ce *CodecError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *CodecError", err, err)
			}
			if ce.Key != c.key || ce.Codec.String() != c.codec {
				t.Fatalf("err = %v", err)
			}
			if !strings.HasPrefix(err.Error(), c.key+": "+c.codec+": ") || !strings.Contains(err.Error(), " at byte ") {
				t.Fatalf("message %q", err)
			}
		})
	}
	// The example from the brief, exactly.
	_, err := readAll(t, g[:30], "orders/a.json.gz", spec.CompressionAuto)
	if err == nil || err.Error() != "orders/a.json.gz: gzip: unexpected EOF at byte 30" {
		t.Fatalf("err = %v", err)
	}
}

// A decoder over a truncated stream reports the codec error once, not
// wrapped again with the key.
func TestDecoderOverTruncatedStream(t *testing.T) {
	mem := checked(t)
	g := gz(payload)
	rc, err := Decompress(bytes.NewReader(g[:len(g)/2]), "o/a.json.gz", spec.CompressionAuto)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	s := sch(field("order_id", arrow.BinaryTypes.String, true))
	r, err := NewJSON(rc, Options{Key: "o/a.json.gz", Schema: s, Alloc: mem})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = collect(t, r, s)
	if err == nil || !strings.HasPrefix(err.Error(), "o/a.json.gz: gzip: unexpected EOF at byte ") {
		t.Fatalf("err = %v", err)
	}
}

func TestCodecNames(t *testing.T) {
	for c, want := range map[Codec]string{CodecNone: "none", CodecGzip: "gzip", CodecZstd: "zstd", CodecSnappy: "snappy", CodecBzip2: "bzip2", Codec(42): "Codec(42)"} {
		if c.String() != want {
			t.Errorf("%d: %s", int(c), c)
		}
	}
	// The s2 reader also reads s2's own framing; make sure the snappy
	// framing magic is what we detect.
	var b bytes.Buffer
	w := s2.NewWriter(&b, s2.WriterSnappyCompat())
	w.Write(payload)
	w.Close()
	if CodecByMagic(b.Bytes()) != CodecSnappy {
		t.Fatalf("snappy-compatible s2 stream not detected: % x", b.Bytes()[:10])
	}
}
