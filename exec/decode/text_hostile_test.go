package decode

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluicedata/sluice/spec"
)

// repeatReader yields n copies of b (generated, never held whole).
type repeatReader struct {
	b    byte
	n    int64
	fill []byte
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	if r.fill == nil {
		r.fill = bytes.Repeat([]byte{r.b}, 64<<10)
	}
	k := copy(p, r.fill[:min(int64(len(r.fill)), r.n)])
	r.n -= int64(k)
	return k, nil
}

// heapWatch samples the live heap while f runs and returns the growth of
// its peak over the heap before f, and the bytes f allocated in all.
func heapWatch(f func()) (peak, total uint64) {
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	var hi atomic.Uint64
	hi.Store(before.HeapAlloc)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > hi.Load() {
					hi.Store(m.HeapAlloc)
				}
			}
		}
	})
	f()
	close(done)
	wg.Wait()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return hi.Load() - before.HeapAlloc, after.TotalAlloc - before.TotalAlloc
}

// TestJSONLongLines: a line longer than MaxRecordBytes is a bad record
// whose Raw keeps its first TruncatedRawBytes and says so; decoding goes on
// with the next line. A line of exactly MaxRecordBytes (before its CRLF) is
// an ordinary record.
func TestJSONLongLines(t *testing.T) {
	s := sch(field("a", arrow.BinaryTypes.String, true))
	exact := `{"a":"` + strings.Repeat("x", 2000-8) + `"}`
	in := `{"a":"1"}` + "\n" +
		`{"a":"` + strings.Repeat("y", 5000) + `"}` + "\n" +
		exact + "\r\n" +
		`{"a":"` + strings.Repeat("z", 300_000) + `"}` + "\r\n" + // longer than the read buffer
		`{"a":"4"}`
	var sink badSink
	r, err := NewJSON(strings.NewReader(in), Options{Key: "l.json", Schema: s, Alloc: checked(t), OnBad: sink.onBad, MaxRecordBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"1", strings.Repeat("x", 1992), "4"})
	if len(sink.recs) != 2 {
		t.Fatalf("bad records: %+v", sink.recs)
	}
	for i, want := range []struct {
		line int64
		n    int
		raw  string
	}{{2, 5008, `{"a":"yyy`}, {4, 300_008, `{"a":"zzz`}} {
		b := sink.recs[i]
		if b.Line != want.line || !b.Truncated || len(b.Raw) != TruncatedRawBytes || !strings.HasPrefix(string(b.Raw), want.raw) ||
			!strings.Contains(b.Reason, "record of "+strconv.Itoa(want.n)+" bytes is longer than the limit of 2000 bytes (max_record_bytes); raw holds its first 1024 bytes") {
			t.Errorf("bad record %d: line %d, truncated %v, %d raw bytes, %q", i, b.Line, b.Truncated, len(b.Raw), b.Reason)
		}
	}
}

// TestJSON200MBLine: a 200 MB line (generated, as a stream) is one bad
// record under the default limit, read past without being held.
func TestJSON200MBLine(t *testing.T) {
	s := sch(field("a", arrow.BinaryTypes.String, true))
	const n = 200 << 20
	var sink badSink
	var rows []string
	peak, total := heapWatch(func() {
		src := io.MultiReader(strings.NewReader(`{"a":"`), &repeatReader{b: 'x', n: n}, strings.NewReader("\"}\n{\"a\":\"after\"}\n"))
		r, err := NewJSON(src, Options{Key: "big.json", Schema: s, OnBad: sink.onBad})
		if err != nil {
			t.Fatal(err)
		}
		if rows, _, err = collect(t, r, s); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("200 MB line: heap peak +%d MiB, %d MiB allocated", peak>>20, total>>20)
	eqRows(t, rows, []string{"after"})
	if len(sink.recs) != 1 || sink.recs[0].Line != 1 || !sink.recs[0].Truncated || len(sink.recs[0].Raw) != TruncatedRawBytes {
		t.Fatalf("bad records: %d", len(sink.recs))
	}
	if total > 64<<20 {
		t.Fatalf("decoding a 200 MB line allocated %d MiB: it was buffered", total>>20)
	}
}

// gzipZeros is a gzip stream of n MiB of zero bytes in one line, then a
// good line: n members of 1 MiB each (the multi-member stream is read
// whole), built in a moment instead of compressing a gigabyte.
func gzipZeros(nMiB int, tail string) []byte {
	member := gz(make([]byte, 1<<20))
	var out bytes.Buffer
	for range nMiB {
		out.Write(member)
	}
	out.Write(gz([]byte(tail)))
	return out.Bytes()
}

// TestDecompressionBomb decodes 1 GiB of zeros gzipped into ~1 MB, as NDJSON
// and as CSV, and measures the heap: the decompressed data is streamed, and
// the one-gigabyte line is a bad record that costs MaxRecordBytes at most.
func TestDecompressionBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 2 GiB")
	}
	const gib = 1024
	s := sch(field("a", arrow.PrimitiveTypes.Int64, true))
	for _, c := range []struct {
		name string
		data []byte
		open func(io.Reader, Options) (Reader, error)
		o    Options
	}{
		{"json", gzipZeros(gib, "\n{\"a\":1}\n"), NewJSON, Options{}},
		{"csv", append(gz([]byte("a\n")), gzipZeros(gib, "\n1\n")...), NewCSV, Options{CSV: spec.CSVOptions{Header: true}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sink badSink
			var rows []string
			var err error
			peak, total := heapWatch(func() {
				body, derr := Decompress(bytes.NewReader(c.data), "bomb.gz", spec.CompressionAuto)
				if derr != nil {
					t.Fatal(derr)
				}
				defer body.Close()
				o := c.o
				o.Key, o.Schema, o.OnBad = "bomb.gz", s, sink.onBad
				r, oerr := c.open(body, o)
				if oerr != nil {
					t.Fatal(oerr)
				}
				rows, _, err = collect(t, r, s)
			})
			t.Logf("%s: %d KiB gzip of 1 GiB: heap peak +%d MiB, %d MiB allocated", c.name, len(c.data)>>10, peak>>20, total>>20)
			if err != nil {
				t.Fatal(err)
			}
			eqRows(t, rows, []string{"1"})
			if len(sink.recs) != 1 || !sink.recs[0].Truncated || !strings.Contains(sink.recs[0].Reason, "record of 1073741824 bytes") {
				t.Fatalf("bad records: %+v", sink.recs)
			}
			// MaxRecordBytes (16 MiB) of line, the read buffer, the
			// decompressor's window: far below 1 GiB.
			if peak > 64<<20 || total > 128<<20 {
				t.Fatalf("heap peak +%d MiB, %d MiB allocated: the bomb was buffered", peak>>20, total>>20)
			}
		})
	}
}

// TestCSVLongRecords: a record that grows past MaxRecordBytes across the
// lines of a quoted field is read past without being held, and decoding
// goes on after it; so is a single line too long, whether or not it ends
// inside a quote.
func TestCSVLongRecords(t *testing.T) {
	s := sch(field("a", arrow.BinaryTypes.String, true), field("b", arrow.PrimitiveTypes.Int64, true))
	manyLines := strings.Repeat("line of a quoted field\n", 20_000) // 460 KB
	in := "a,b\n" +
		"x,1\n" +
		"\"" + manyLines + "end\",2\n" +
		"y,3\n" +
		strings.Repeat("w", 3000) + ",4\n" +
		"\"" + strings.Repeat("q", 3000) + "\nstill quoted\",5\n" +
		"z,6\n"
	var sink badSink
	o := csvOpts(t, s, spec.CSVOptions{Header: true}, &sink)
	o.MaxRecordBytes = 2000
	r, err := NewCSV(strings.NewReader(in), o)
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"x|1", "y|3", "z|6"})
	if len(sink.recs) != 3 {
		t.Fatalf("bad records: %+v", sink.recs)
	}
	for i, line := range []int64{3, 20_005, 20_006} {
		b := sink.recs[i]
		if b.Line != line || !b.Truncated || len(b.Raw) > TruncatedRawBytes+1 || !strings.Contains(b.Reason, "is longer than the limit of 2000 bytes") {
			t.Errorf("bad record %d: line %d, truncated %v, %d raw bytes, %q", i, b.Line, b.Truncated, len(b.Raw), b.Reason)
		}
	}
}

// TestCSVLineBreaksInQuotedFields: a line break inside a quoted field is
// kept as the file has it (a CRLF was rewritten to LF), and a file whose
// lines end in CR alone is read line by line, as DuckDB reads it (it was one
// long header line, so every declared column was "not in the file").
func TestCSVLineBreaksInQuotedFields(t *testing.T) {
	s := sch(field("a", arrow.BinaryTypes.String, true), field("b", arrow.PrimitiveTypes.Int64, true))
	for _, c := range []struct {
		name, in string
		want     []string
	}{
		{"CRLF kept", "a,b\r\n\"x\r\ny\",1\r\n\"\r\n\",2\r\n", []string{"x\r\ny|1", "\r\n|2"}},
		{"LF kept", "a,b\n\"x\ny\",1\n", []string{"x\ny|1"}},
		{"CR-only file", "a,b\r1,2\r\"x\ry\",3\r\r4,5", []string{"1|2", "x\ry|3", "4|5"}},
		{"CR-only, one line", "a,b\r", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var sink badSink
			r, err := NewCSV(strings.NewReader(c.in), csvOpts(t, s, spec.CSVOptions{Header: true}, &sink))
			if err != nil {
				t.Fatal(err)
			}
			rows, _, err := collect(t, r, s)
			if err != nil || len(sink.recs) > 0 {
				t.Fatalf("err %v, bad %+v", err, sink.recs)
			}
			eqRows(t, rows, c.want)
		})
	}
}

// TestCSVBlankLines: lines of nothing but spaces and tabs are not records,
// as documented (unless the delimiter is one of them: a line of tabs in a
// TSV file is a record of empty fields).
func TestCSVBlankLines(t *testing.T) {
	s := sch(field("a", arrow.PrimitiveTypes.Int64, true), field("b", arrow.PrimitiveTypes.Int64, true))
	var sink badSink
	r, err := NewCSV(strings.NewReader("a,b\n1,2\n   \n\t \r\n\n3,4\n  "), csvOpts(t, s, spec.CSVOptions{Header: true}, &sink))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil || len(sink.recs) > 0 {
		t.Fatalf("err %v, bad %+v", err, sink.recs)
	}
	eqRows(t, rows, []string{"1|2", "3|4"})

	r, err = NewCSV(strings.NewReader("a\tb\n1\t2\n\t\n"), csvOpts(t, s, spec.CSVOptions{Header: true, Delimiter: '\t'}, &sink))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err = collect(t, r, s)
	if err != nil || len(sink.recs) > 0 {
		t.Fatalf("err %v, bad %+v", err, sink.recs)
	}
	eqRows(t, rows, []string{"1|2", "null|null"})
}

// TestCSVDuplicateHeader: a header naming a read column twice is an error
// naming both positions; a duplicate the schema does not read is not looked at.
func TestCSVDuplicateHeader(t *testing.T) {
	s := sch(field("a", arrow.PrimitiveTypes.Int64, true))
	_, err := NewCSV(strings.NewReader("b,a,c,a\n1,2,3,4\n"), csvOpts(t, s, spec.CSVOptions{Header: true}, nil))
	if err == nil || err.Error() != `k.csv:1: csv header: column "a" appears twice, as columns 2 and 4` {
		t.Fatalf("err = %v", err)
	}
	r, err := NewCSV(strings.NewReader("c,a,c\n1,2,3\n"), csvOpts(t, s, spec.CSVOptions{Header: true}, nil))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, err := collect(t, r, s)
	if err != nil {
		t.Fatal(err)
	}
	eqRows(t, rows, []string{"2"})
}

// TestCorruptGzipReportsNoGarbage: a gzip stream corrupt in its middle
// decompresses to garbage before the codec notices. The object is
// unreadable (a *CodecError), and none of the garbage is reported as bad
// records: they wait until the stream has ended cleanly. Every byte of the
// compressed middle is tried.
func TestCorruptGzipReportsNoGarbage(t *testing.T) {
	s := sch(field("order_id", arrow.BinaryTypes.String, true), field("amount", arrow.PrimitiveTypes.Float64, true))
	var jsonLines, csvLines strings.Builder
	for i := range 3000 {
		id, amount := strconv.Itoa(i*7919%100000), strconv.Itoa(i%977)
		jsonLines.WriteString(`{"order_id":"o-` + id + `","amount":` + amount + ".5}\n")
		csvLines.WriteString("o-" + id + "," + amount + ".5\n")
	}
	garbage := 0
	for _, format := range []string{"json", "csv"} {
		good := gz([]byte(jsonLines.String()))
		if format == "csv" {
			good = gz([]byte(csvLines.String()))
		}
		for pos := 20; pos < len(good)-20; pos += 23 {
			data := bytes.Clone(good)
			data[pos] ^= 0x5a
			var sink badSink
			body, err := Decompress(bytes.NewReader(data), "c.gz", spec.CompressionAuto)
			if err != nil {
				continue
			}
			o := Options{Key: "c.gz", Schema: s, OnBad: sink.onBad, Alloc: checked(t)}
			var r Reader
			if format == "json" {
				r, err = NewJSON(body, o)
			} else {
				r, err = NewCSV(body, o)
			}
			if err == nil {
				_, _, err = collect(t, r, nil)
			}
			body.Close()
			var ce *CodecError
			if errors.As(err, &ce) && len(sink.recs) > 0 {
				t.Fatalf("%s, byte %d flipped: %v, after %d bad records (first %q)", format, pos, err, len(sink.recs), sink.recs[0].String())
			}
			if err == nil {
				garbage += len(sink.recs) // a flip the codec cannot see: reported
			}
		}
	}
	t.Logf("%d bad records from corruptions gzip did not detect", garbage)
}
