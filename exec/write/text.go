package write

import (
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/sluicedata/sluice/spec"
)

// Text output (CSV and NDJSON) renders values as follows, the same in both
// formats where a value is a scalar:
//
//	bool            true / false
//	integers        decimal
//	floats          shortest text that reads back exactly (1.5, 1e+21);
//	                NaN and ±Inf are null in JSON, NaN / Infinity / -Infinity in CSV
//	decimal(p, s)   exact text with s fraction digits (a JSON number, unquoted)
//	string          as is (JSON-escaped in NDJSON; invalid UTF-8 becomes U+FFFD)
//	binary          standard base64
//	date            YYYY-MM-DD
//	timestamp       RFC 3339 with as many fraction digits as needed, in the
//	                column's time zone (Z when it has none)
//	list, struct,   JSON arrays and objects (in CSV: that JSON text, quoted as
//	map             needed); map keys are rendered as text
//
// CSV follows RFC 4180: a field is quoted when it contains the delimiter,
// the quote, CR or LF, or starts or ends with a space, or when a non-null
// value equals the null text (so an empty string and a null stay distinct);
// quotes inside are doubled. Nulls are the first of CSV.NullValues (default
// ""). Lines end in LF. NDJSON writes every column, nulls as null.

// textConfig holds what a Writer's CSV or NDJSON files share.
type textConfig struct {
	schema *arrow.Schema
	csv    bool
	delim  []byte
	quote  []byte
	null   string
	header bool
	codec  spec.Compression
	ext    string
	keys   [][]byte // NDJSON: `"name":` per column, with the leading { or ,
}

func newTextConfig(s *arrow.Schema, o Options) (*textConfig, error) {
	c := &textConfig{schema: s, csv: o.Format == spec.FormatCSV}
	for _, f := range s.Fields() {
		if err := checkTextType(f.Type); err != nil {
			return nil, fmt.Errorf("write: column %q: %w", f.Name, err)
		}
	}
	base := ".json"
	if c.csv {
		base = ".csv"
		d, q := o.CSV.Delimiter, o.CSV.Quote
		if d == 0 {
			d = ','
		}
		if q == 0 {
			q = '"'
		}
		if d == q || d == '\n' || d == '\r' || q == '\n' || q == '\r' {
			return nil, fmt.Errorf("write: csv delimiter %q and quote %q cannot be used together", d, q)
		}
		c.delim, c.quote = []byte(string(d)), []byte(string(q))
		if len(o.CSV.NullValues) > 0 {
			c.null = o.CSV.NullValues[0]
		}
		c.header = o.CSV.Header
	} else {
		for i, f := range s.Fields() {
			k := []byte{','}
			if i == 0 {
				k[0] = '{'
			}
			k = appendJSONString(k, f.Name)
			c.keys = append(c.keys, append(k, ':'))
		}
	}
	switch o.Compression {
	case 0, spec.CompressionNone:
		c.codec, c.ext = spec.CompressionNone, base
	case spec.CompressionGzip:
		c.codec, c.ext = o.Compression, base+".gz"
	case spec.CompressionZstd:
		c.codec, c.ext = o.Compression, base+".zst"
	default:
		return nil, fmt.Errorf("write: %s output cannot be compressed with codec %d (gzip, zstd or none)", base[1:], int(o.Compression))
	}
	return c, nil
}

// checkTextType rejects types the text encoders do not render.
func checkTextType(t arrow.DataType) error {
	switch t := t.(type) {
	case *arrow.NullType, *arrow.BooleanType, *arrow.Int8Type, *arrow.Int16Type, *arrow.Int32Type, *arrow.Int64Type,
		*arrow.Uint8Type, *arrow.Uint16Type, *arrow.Uint32Type, *arrow.Uint64Type,
		*arrow.Float32Type, *arrow.Float64Type, *arrow.StringType, *arrow.LargeStringType,
		*arrow.BinaryType, *arrow.LargeBinaryType, *arrow.Date32Type, *arrow.Date64Type,
		*arrow.TimestampType, *arrow.Decimal128Type, *arrow.Decimal256Type:
		return nil
	case *arrow.ListType:
		return checkTextType(t.Elem())
	case *arrow.LargeListType:
		return checkTextType(t.Elem())
	case *arrow.MapType:
		if err := checkTextType(t.KeyType()); err != nil {
			return err
		}
		return checkTextType(t.ItemType())
	case *arrow.StructType:
		for _, f := range t.Fields() {
			if err := checkTextType(f.Type); err != nil {
				return fmt.Errorf("field %q: %w", f.Name, err)
			}
		}
		return nil
	case *arrow.DictionaryType:
		return checkTextType(t.ValueType)
	}
	return fmt.Errorf("type %s cannot be written as text", t)
}

// textFile writes one CSV or NDJSON file.
type textFile struct {
	w      *Writer
	c      *textConfig
	cw     *countingWriter
	z      io.WriteCloser // compressor, nil for none
	dst    io.Writer
	buf    []byte
	in     int64 // uncompressed bytes produced
	rows   int64
	closed bool
}

func (c *textConfig) newFile(w *Writer, out io.Writer) (encoder, error) {
	cw := out.(*countingWriter)
	t := &textFile{w: w, c: c, cw: cw, dst: cw}
	switch c.codec {
	case spec.CompressionGzip:
		t.z = gzip.NewWriter(cw)
	case spec.CompressionZstd:
		// One goroutine per encoder: a task may hold many open partitions.
		z, err := zstd.NewWriter(cw, zstd.WithEncoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		t.z = z
	}
	if t.z != nil {
		t.dst = t.z
	}
	if c.csv && c.header {
		for i, f := range c.schema.Fields() {
			if i > 0 {
				t.buf = append(t.buf, c.delim...)
			}
			t.buf = c.appendCSVField(t.buf, []byte(f.Name), f.Name == c.null)
		}
		t.buf = append(t.buf, '\n')
	}
	return t, nil
}

const textFlushBytes = 256 << 10

func (t *textFile) write(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	before := t.in + int64(len(t.buf)) // the header is not a row
	if t.c.csv {
		cells := make([]cellEnc, rec.NumCols())
		for i, col := range rec.Columns() {
			cells[i] = newCellEnc(col, t.c.null)
		}
		var scratch []byte
		for r := 0; r < n; r++ {
			for i, enc := range cells {
				if i > 0 {
					t.buf = append(t.buf, t.c.delim...)
				}
				var isNull bool
				scratch, isNull = enc(scratch[:0], r)
				if isNull {
					t.buf = append(t.buf, t.c.null...)
				} else {
					t.buf = t.c.appendCSVField(t.buf, scratch, string(scratch) == t.c.null)
				}
			}
			t.buf = append(t.buf, '\n')
			if len(t.buf) >= textFlushBytes {
				if err := t.drain(); err != nil {
					return err
				}
			}
		}
	} else {
		encs := make([]valEnc, rec.NumCols())
		for i, col := range rec.Columns() {
			encs[i] = newJSONEnc(col)
		}
		for r := 0; r < n; r++ {
			for i, enc := range encs {
				t.buf = append(t.buf, t.c.keys[i]...)
				t.buf = enc(t.buf, r)
			}
			if len(encs) == 0 {
				t.buf = append(t.buf, '{')
			}
			t.buf = append(t.buf, '}', '\n')
			if len(t.buf) >= textFlushBytes {
				if err := t.drain(); err != nil {
					return err
				}
			}
		}
	}
	t.rows += int64(n)
	err := t.drain()
	t.w.textRows += int64(n)
	t.w.textBytes += t.in - before
	return err
}

func (t *textFile) drain() error {
	if len(t.buf) == 0 {
		return nil
	}
	t.in += int64(len(t.buf))
	_, err := t.dst.Write(t.buf)
	t.buf = t.buf[:0]
	return err
}

// ratio is the compressed/uncompressed ratio of text written so far (the
// compressor's output lags its input, so finished files are preferred).
func (t *textFile) ratio() float64 {
	switch {
	case t.z == nil:
		return 1
	case t.w.textIn > 0:
		return float64(t.w.textOut) / float64(t.w.textIn)
	case t.cw.n > 0 && t.in > 0:
		return float64(t.cw.n) / float64(t.in)
	}
	return 1
}

func (t *textFile) size() int64 {
	if t.z == nil {
		return t.cw.n
	}
	return max(t.cw.n, int64(float64(t.in)*t.ratio()))
}

func (t *textFile) bytesPerRow() float64 {
	per := t.w.rowWidth()
	switch {
	case t.rows > 0:
		per = float64(t.in) / float64(t.rows)
	case t.w.textRows > 0:
		per = float64(t.w.textBytes) / float64(t.w.textRows)
	}
	return max(per*t.ratio(), 1e-3)
}

// guessing: nothing encoded yet, so bytesPerRow is only the Arrow width.
func (t *textFile) guessing() bool { return t.w.textRows == 0 }

func (t *textFile) buffered() int64 { return int64(len(t.buf)) }

func (t *textFile) flush() error { return t.drain() }

func (t *textFile) close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	err := t.drain()
	if t.z != nil {
		if cerr := t.z.Close(); err == nil {
			err = cerr
		}
		t.w.textIn += t.in
		t.w.textOut += t.cw.n
	}
	if err == nil {
		err = t.cw.err
	}
	return err
}

// appendCSVField appends one field, quoted when RFC 4180 (or force) needs it.
func (c *textConfig) appendCSVField(dst, v []byte, force bool) []byte {
	need := force || len(v) > 0 && (v[0] == ' ' || v[len(v)-1] == ' ')
	if !need {
		for i := 0; i < len(v); i++ {
			b := v[i]
			if b == '\n' || b == '\r' || b == c.delim[0] || b == c.quote[0] {
				need = true
				break
			}
		}
	}
	if !need {
		return append(dst, v...)
	}
	dst = append(dst, c.quote...)
	for i := 0; i < len(v); {
		if hasPrefix(v[i:], c.quote) {
			dst = append(dst, c.quote...)
			dst = append(dst, c.quote...)
			i += len(c.quote)
			continue
		}
		dst = append(dst, v[i])
		i++
	}
	return append(dst, c.quote...)
}

func hasPrefix(b, p []byte) bool {
	if len(b) < len(p) {
		return false
	}
	for i := range p {
		if b[i] != p[i] {
			return false
		}
	}
	return true
}

// valEnc appends the JSON text of row i.
type valEnc func(dst []byte, i int) []byte

// cellEnc appends the CSV text of row i, or reports a null.
type cellEnc func(dst []byte, i int) ([]byte, bool)

func newCellEnc(a arrow.Array, null string) cellEnc {
	switch a := a.(type) {
	case *array.String:
		return func(dst []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return dst, true
			}
			return append(dst, a.Value(i)...), false
		}
	case *array.LargeString:
		return func(dst []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return dst, true
			}
			return append(dst, a.Value(i)...), false
		}
	case *array.Float32:
		return func(dst []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return dst, true
			}
			return appendCSVFloat(dst, float64(a.Value(i)), 32), false
		}
	case *array.Float64:
		return func(dst []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return dst, true
			}
			return appendCSVFloat(dst, a.Value(i), 64), false
		}
	case *array.Dictionary:
		inner := newCellEnc(a.Dictionary(), null)
		return func(dst []byte, i int) ([]byte, bool) {
			if a.IsNull(i) {
				return dst, true
			}
			return inner(dst, a.GetValueIndex(i))
		}
	}
	// Everything else reads the same as its JSON text, minus the quotes of
	// JSON strings (binary, dates, timestamps).
	enc := newJSONEnc(a)
	_, quoted := a.DataType().(arrow.BinaryDataType)
	switch a.DataType().ID() {
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		quoted = true
	}
	return func(dst []byte, i int) ([]byte, bool) {
		if a.IsNull(i) {
			return dst, true
		}
		if quoted {
			// These JSON texts never contain escapes: base64, digits, '-', ':', '.', 'T', 'Z', '+'.
			n := len(dst)
			dst = enc(dst, i)
			copy(dst[n:], dst[n+1:len(dst)-1])
			return dst[:len(dst)-2], false
		}
		return enc(dst, i), false
	}
}

func appendCSVFloat(dst []byte, v float64, bits int) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	}
	return appendFloat(dst, v, bits)
}

// appendFloat writes the shortest exact text, in plain notation for
// magnitudes in [1e-6, 1e21) and exponent notation otherwise (as
// encoding/json does).
func appendFloat(dst []byte, v float64, bits int) []byte {
	f := byte('f')
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		f = 'e'
	}
	return strconv.AppendFloat(dst, v, f, -1, bits)
}

func nullable(a arrow.Array, enc valEnc) valEnc {
	if a.NullN() == 0 {
		return enc
	}
	return func(dst []byte, i int) []byte {
		if a.IsNull(i) {
			return append(dst, "null"...)
		}
		return enc(dst, i)
	}
}

func newJSONEnc(a arrow.Array) valEnc {
	switch a := a.(type) {
	case *array.Null:
		return func(dst []byte, _ int) []byte { return append(dst, "null"...) }
	case *array.Boolean:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendBool(dst, a.Value(i)) })
	case *array.Int8:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) })
	case *array.Int16:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) })
	case *array.Int32:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendInt(dst, int64(a.Value(i)), 10) })
	case *array.Int64:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendInt(dst, a.Value(i), 10) })
	case *array.Uint8:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) })
	case *array.Uint16:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) })
	case *array.Uint32:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendUint(dst, uint64(a.Value(i)), 10) })
	case *array.Uint64:
		return nullable(a, func(dst []byte, i int) []byte { return strconv.AppendUint(dst, a.Value(i), 10) })
	case *array.Float32:
		return nullable(a, func(dst []byte, i int) []byte { return appendJSONFloat(dst, float64(a.Value(i)), 32) })
	case *array.Float64:
		return nullable(a, func(dst []byte, i int) []byte { return appendJSONFloat(dst, a.Value(i), 64) })
	case *array.String:
		return nullable(a, func(dst []byte, i int) []byte { return appendJSONString(dst, a.Value(i)) })
	case *array.LargeString:
		return nullable(a, func(dst []byte, i int) []byte { return appendJSONString(dst, a.Value(i)) })
	case *array.Binary:
		return nullable(a, func(dst []byte, i int) []byte { return appendBase64(dst, a.Value(i)) })
	case *array.LargeBinary:
		return nullable(a, func(dst []byte, i int) []byte { return appendBase64(dst, a.Value(i)) })
	case *array.Date32:
		return nullable(a, func(dst []byte, i int) []byte {
			return appendQuotedTime(dst, a.Value(i).ToTime(), time.DateOnly)
		})
	case *array.Date64:
		return nullable(a, func(dst []byte, i int) []byte {
			return appendQuotedTime(dst, a.Value(i).ToTime().UTC(), time.DateOnly)
		})
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		loc, err := tt.GetZone()
		if err != nil || loc == nil {
			loc = time.UTC
		}
		return nullable(a, func(dst []byte, i int) []byte {
			return appendQuotedTime(dst, a.Value(i).ToTime(tt.Unit).In(loc), time.RFC3339Nano)
		})
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return nullable(a, func(dst []byte, i int) []byte { return append(dst, a.Value(i).ToString(scale)...) })
	case *array.Decimal256:
		scale := a.DataType().(*arrow.Decimal256Type).Scale
		return nullable(a, func(dst []byte, i int) []byte { return append(dst, a.Value(i).ToString(scale)...) })
	case *array.Dictionary:
		inner := newJSONEnc(a.Dictionary())
		return nullable(a, func(dst []byte, i int) []byte { return inner(dst, a.GetValueIndex(i)) })
	case *array.Map:
		keys, items := newCellEnc(a.Keys(), ""), newJSONEnc(a.Items())
		var scratch []byte
		return nullable(a, func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			dst = append(dst, '{')
			for j := start; j < end; j++ {
				if j > start {
					dst = append(dst, ',')
				}
				scratch, _ = keys(scratch[:0], int(j))
				dst = appendJSONString(dst, string(scratch))
				dst = append(dst, ':')
				dst = items(dst, int(j))
			}
			return append(dst, '}')
		})
	case array.ListLike:
		elem := newJSONEnc(a.ListValues())
		return nullable(a, func(dst []byte, i int) []byte {
			start, end := a.ValueOffsets(i)
			dst = append(dst, '[')
			for j := start; j < end; j++ {
				if j > start {
					dst = append(dst, ',')
				}
				dst = elem(dst, int(j))
			}
			return append(dst, ']')
		})
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		keys := make([][]byte, a.NumField())
		fields := make([]valEnc, a.NumField())
		for f := range fields {
			k := []byte{','}
			if f == 0 {
				k[0] = '{'
			}
			k = appendJSONString(k, st.Field(f).Name)
			keys[f] = append(k, ':')
			fields[f] = newJSONEnc(a.Field(f))
		}
		return nullable(a, func(dst []byte, i int) []byte {
			if len(fields) == 0 {
				return append(dst, '{', '}')
			}
			for f, enc := range fields {
				dst = append(dst, keys[f]...)
				dst = enc(dst, i)
			}
			return append(dst, '}')
		})
	}
	// checkTextType keeps other types out.
	return func(dst []byte, i int) []byte { return appendJSONString(dst, a.ValueStr(i)) }
}

func appendQuotedTime(dst []byte, t time.Time, layout string) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, layout)
	return append(dst, '"')
}

func appendBase64(dst, v []byte) []byte {
	dst = append(dst, '"')
	dst = base64.StdEncoding.AppendEncode(dst, v)
	return append(dst, '"')
}

func appendJSONFloat(dst []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "null"...)
	}
	return appendFloat(dst, v, bits)
}

// appendJSONString appends s as a JSON string: ", \ and control characters
// escaped, U+2028/U+2029 escaped (as encoding/json does, for JavaScript),
// invalid UTF-8 replaced by U+FFFD.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
