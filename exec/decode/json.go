package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/valyala/fastjson"
)

// column is one output column of a text decoder.
type column struct {
	name     string
	conv     *conv
	nullable bool
	b        array.Builder
	scratch  []byte
	scratch2 []byte
}

func newColumns(o *Options, rb *array.RecordBuilder) ([]*column, error) {
	cols := make([]*column, o.Schema.NumFields())
	for i, f := range o.Schema.Fields() {
		c, err := newConv(f.Type, o.TimestampFormats[f.Name])
		if err != nil {
			return nil, fmt.Errorf("%s: column %q: %w", o.Key, f.Name, err)
		}
		cols[i] = &column{name: f.Name, conv: c, nullable: f.Nullable, b: rb.Field(i)}
	}
	return cols, nil
}

// batchSizer reserves builder capacity for a batch from the size of the
// previous one, so builders do not grow by repeated doubling and copying:
// the top-level builders, and the builders nested in struct, list and map
// columns (a list's elements are counted apart from its rows).
type batchSizer struct {
	rows   int
	data   []int
	nested [][]nestedSize // per column, its nested builders in walk order
}

// nestedSize is what one nested builder held at the end of a batch.
type nestedSize struct{ n, data int }

func (s *batchSizer) reserve(cols []*column, max int) {
	if s.rows == 0 {
		return
	}
	rows := min(s.rows, max)
	for i, c := range cols {
		c.b.Reserve(rows)
		reserveData(c.b, s.data[i])
		if len(s.nested[i]) == 0 {
			continue
		}
		for j, b := range nestedBuilders(c.b, nil) {
			if j >= len(s.nested[i]) {
				break
			}
			ns := s.nested[i][j]
			// Scaled to this batch's rows (text readers cap a batch).
			b.Reserve(int(int64(ns.n) * int64(rows) / int64(s.rows)))
			reserveData(b, int(int64(ns.data)*int64(rows)/int64(s.rows)))
		}
	}
}

func reserveData(b array.Builder, n int) {
	if n <= 0 {
		return
	}
	switch bb := b.(type) {
	case *array.StringBuilder:
		bb.ReserveData(n)
	case *array.BinaryBuilder:
		bb.ReserveData(n)
	}
}

func dataLen(b array.Builder) int {
	switch bb := b.(type) {
	case *array.StringBuilder:
		return bb.DataLen()
	case *array.BinaryBuilder:
		return bb.DataLen()
	}
	return 0
}

// nestedBuilders appends the builders inside b (struct fields, list and map
// elements, recursively) in a fixed order.
func nestedBuilders(b array.Builder, out []array.Builder) []array.Builder {
	var kids []array.Builder
	switch x := b.(type) {
	case *array.StructBuilder:
		for i := 0; i < x.NumField(); i++ {
			kids = append(kids, x.FieldBuilder(i))
		}
	case *array.ListBuilder:
		kids = []array.Builder{x.ValueBuilder()}
	case *array.LargeListBuilder:
		kids = []array.Builder{x.ValueBuilder()}
	case *array.MapBuilder:
		kids = []array.Builder{x.ValueBuilder()}
	}
	for _, k := range kids {
		out = append(out, k)
		out = nestedBuilders(k, out)
	}
	return out
}

func (s *batchSizer) observe(cols []*column, rows int) {
	s.rows = rows
	if s.data == nil {
		s.data = make([]int, len(cols))
		s.nested = make([][]nestedSize, len(cols))
	}
	for i, c := range cols {
		s.data[i] = dataLen(c.b)
		s.nested[i] = s.nested[i][:0]
		for _, b := range nestedBuilders(c.b, nil) {
			s.nested[i] = append(s.nested[i], nestedSize{n: b.Len(), data: dataLen(b)})
		}
	}
}

const maxReasonLen = 200

func clipReason(s string) string {
	if len(s) > maxReasonLen {
		return s[:maxReasonLen] + "…"
	}
	return s
}

// wrapReadErr names the key on a source read error; codec errors already do.
func wrapReadErr(key string, err error) error {
	var ce *CodecError
	if errors.As(err, &ce) {
		return err
	}
	return fmt.Errorf("%s: read: %w", key, err)
}

var bom = []byte("\xef\xbb\xbf")

type jsonReader struct {
	textReader
	index  map[string]int
	vals   [][]byte // raw value of each column in the current line, nil if absent
	nested []*fastjson.Value
	// parsers[i] parses nested column i's values.
	parsers []fastjson.Parser
	keyBuf  []byte
	cells   []cell
	// hints[p] guesses the column of the p-th key of an object: NDJSON
	// writers emit keys in the same order on every line, so a string
	// compare usually replaces the map lookup.
	hints    []int // column index, or -1 for a key not read
	hintKeys []string
	// hintPats[p] is the p-th key as it appeared, `"key":`, when it had no
	// escapes and no space before the colon (else empty): a line whose
	// text at the key's position starts with it has that key there, which
	// one comparison finds instead of a string scan and a lookup.
	hintPats [][]byte
	// hintWords[p] holds hintPats[p] as two little-endian words with the
	// masks of its bytes, when it is at most 16 bytes long: comparing a
	// key is then two loads and two compares instead of a memequal call.
	hintWords []keyWords
}

// NewJSON returns a reader of newline-delimited JSON objects. Only the
// keys named by o.Schema are converted; other keys are skipped. A missing
// key or JSON null gives null. See the package tests for every conversion
// and bad-record kind.
func NewJSON(r io.Reader, o Options) (Reader, error) {
	jr, err := newJSONReader(o)
	if err != nil {
		return nil, err
	}
	jr.lr.br = bufio.NewReaderSize(r, jr.o.readBufferSize())
	jr.start(r)
	return jr, nil
}

// newJSONReader returns a reader with its builders and lookup tables but
// no source yet.
func newJSONReader(o Options) (*jsonReader, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	rb := array.NewRecordBuilder(o.Alloc, o.Schema)
	cols, err := newColumns(&o, rb)
	if err != nil {
		rb.Release()
		return nil, err
	}
	jr := &jsonReader{
		textReader: newTextReader(o, rb, cols),
		index:      make(map[string]int, len(cols)),
		vals:       make([][]byte, len(cols)),
		nested:     make([]*fastjson.Value, len(cols)),
		parsers:    make([]fastjson.Parser, len(cols)),
		cells:      make([]cell, len(cols)),
	}
	for i, c := range cols {
		jr.index[c.name] = i
	}
	return jr, nil
}

func isBlank(b []byte) bool {
	for _, ch := range b {
		if ch != ' ' && ch != '\t' && ch != '\r' {
			return false
		}
	}
	return true
}

func (r *jsonReader) Next() (arrow.RecordBatch, error) { return r.next(r.fill) }

// fill appends up to limit rows of the current object to the builders and
// returns how many it appended; fewer than limit means the object ended.
// On an error the builders keep the rows appended before it: every row is
// appended whole (decodeLine validates a line before appending any cell).
func (r *jsonReader) fill(limit int) (int, error) {
	rows := 0
	for rows < limit {
		line, err := r.lr.next()
		if err == io.EOF {
			if err := r.ended(); err != nil {
				return rows, err
			}
			break
		}
		if err != nil {
			return rows, wrapReadErr(r.o.Key, err)
		}
		if r.lr.line == 1 {
			line = bytes.TrimPrefix(line, bom)
		}
		if r.lr.cut > 0 {
			if err := r.tooLong(r.lr.line, r.lr.cut, line); err != nil {
				return rows, err
			}
			continue
		}
		if isBlank(line) {
			continue
		}
		ok, err := r.decodeLine(line)
		if err != nil {
			return rows, err
		}
		if ok {
			rows++
		}
	}
	return rows, nil
}

// begin makes a jsonReader an objectDecoder (with textReader's end and
// builders).
func (r *jsonReader) begin(src io.Reader, key string, sizeHint int64) error {
	r.o.Key, r.o.SizeHint = key, sizeHint
	r.lr.reset(src, r.o.readBufferSize())
	r.start(src)
	return nil
}

// decodeLine appends one row; ok is false when the record was bad and skipped.
func (r *jsonReader) decodeLine(line []byte) (ok bool, err error) {
	clear(r.vals)
	if reason := r.scanObject(line); reason != "" {
		return false, r.badLine(line, "", reason)
	}
	for i, c := range r.cols {
		v := r.vals[i]
		if v == nil || v[0] == 'n' {
			if !c.nullable {
				return false, r.badLine(line, c.name, "null or missing value in non-nullable column")
			}
			r.cells[i] = cell{null: true}
			r.vals[i] = nil
			continue
		}
		if c.conv.kind >= kList {
			// Values from one parser stay valid until its next parse, so
			// each nested column has its own.
			jv, err := r.parsers[i].ParseBytes(fixLoneSurrogates(v, &c.scratch2))
			if err != nil {
				return false, r.badLine(line, c.name, "invalid JSON: "+err.Error())
			}
			if err := c.conv.nestedJSON(nil, jv, &c.scratch); err != nil {
				return false, r.badLine(line, c.name, err.Error())
			}
			r.nested[i] = jv
			continue
		}
		if err := c.conv.fromRaw(v, &r.cells[i], &c.scratch, &c.scratch2); err != nil {
			return false, r.badLine(line, c.name, err.Error())
		}
	}
	for i, c := range r.cols {
		if c.conv.kind >= kList {
			var jv *fastjson.Value
			if r.vals[i] != nil {
				jv = r.nested[i]
			}
			_ = c.conv.nestedJSON(c.b, jv, &c.scratch)
			continue
		}
		c.conv.appendCell(c.b, &r.cells[i])
	}
	return true, nil
}

// scanObject validates line as one JSON object and points r.vals at the raw
// values of the keys that are read. It returns the reason when the line is bad.
func (r *jsonReader) scanObject(s []byte) string {
	i := skipWS(s, 0)
	if i >= len(s) {
		return "invalid JSON: empty line"
	}
	if s[i] != '{' {
		if end, err := scanValue(s, i, 0); err == nil && skipWS(s, end) == len(s) {
			return "not a JSON object (got " + rawTypeName(s[i:end]) + ")"
		}
		return "invalid JSON: not an object"
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		i++
	} else {
		for p := 0; ; p++ {
			var col int
			if p < len(r.hintPats) && len(r.hintPats[p]) > 0 && r.hintWords[p].prefixOf(s, i, r.hintPats[p]) {
				col = r.hints[p]
				i += len(r.hintPats[p])
			} else {
				if i >= len(s) || s[i] != '"' {
					return "invalid JSON: " + synErr(i, "expected a string key").Error()
				}
				kstart := i
				kend, escaped, err := scanString(s, i)
				if err != nil {
					return "invalid JSON: " + err.Error()
				}
				key := s[i+1 : kend-1]
				if escaped {
					r.keyBuf = unescape(r.keyBuf[:0], key)
					key = r.keyBuf
				}
				i = skipWS(s, kend)
				if i >= len(s) || s[i] != ':' {
					return "invalid JSON: " + synErr(i, "expected ':' after key").Error()
				}
				col = r.column(p, key)
				if p < len(r.hintPats) {
					r.hintPats[p] = r.hintPats[p][:0]
					if !escaped && i == kend {
						r.hintPats[p] = append(r.hintPats[p], s[kstart:i+1]...)
					}
					r.hintWords[p] = newKeyWords(r.hintPats[p])
				}
				i++
			}
			i = skipWS(s, i)
			vend, err := scanValue(s, i, 1)
			if err != nil {
				return "invalid JSON: " + err.Error()
			}
			if col >= 0 {
				r.vals[col] = s[i:vend]
			}
			i = skipWS(s, vend)
			if i >= len(s) {
				return "invalid JSON: " + synErr(i, "unexpected end of line in object").Error()
			}
			if s[i] == '}' {
				i++
				break
			}
			if s[i] != ',' {
				return "invalid JSON: " + synErr(i, fmt.Sprintf("expected ',' or '}' in object, found %q", s[i])).Error()
			}
			i = skipWS(s, i+1)
		}
	}
	if i = skipWS(s, i); i != len(s) {
		return "invalid JSON: " + synErr(i, "data after the object").Error()
	}
	return ""
}

// column returns the column read from key, the p-th key of the object, or -1.
// hints[p] remembers the answer for the key last seen at position p: NDJSON
// writers emit keys in the same order on every line, so a string compare
// usually replaces the map lookup.
func (r *jsonReader) column(p int, key []byte) int {
	if p < len(r.hints) && r.hintKeys[p] == string(key) {
		return r.hints[p]
	}
	i, ok := r.index[string(key)]
	if !ok {
		i = -1
	}
	if p < len(r.hints) {
		r.hints[p], r.hintKeys[p] = i, string(key)
	} else if p == len(r.hints) && p < 4096 {
		r.hints, r.hintKeys = append(r.hints, i), append(r.hintKeys, string(key))
		r.hintPats = append(r.hintPats, nil)
		r.hintWords = append(r.hintWords, keyWords{})
	}
	return i
}

// keyWords is a key pattern of at most 16 bytes as two masked words.
type keyWords struct {
	w0, w1, m0, m1 uint64
	short          bool // the pattern fits: compare words, not bytes
}

func newKeyWords(pat []byte) keyWords {
	if len(pat) == 0 || len(pat) > 16 {
		return keyWords{}
	}
	var buf [16]byte
	copy(buf[:], pat)
	k := keyWords{short: true}
	k.w0, k.w1 = binary.LittleEndian.Uint64(buf[:8]), binary.LittleEndian.Uint64(buf[8:])
	for j := range pat {
		if j < 8 {
			k.m0 |= 0xff << (8 * j)
		} else {
			k.m1 |= 0xff << (8 * (j - 8))
		}
	}
	return k
}

// prefixOf reports whether s[i:] starts with pat (k made from pat).
func (k *keyWords) prefixOf(s []byte, i int, pat []byte) bool {
	if k.short && i+16 <= len(s) {
		return binary.LittleEndian.Uint64(s[i:])&k.m0 == k.w0 && binary.LittleEndian.Uint64(s[i+8:])&k.m1 == k.w1
	}
	return bytes.HasPrefix(s[i:], pat)
}

func (r *jsonReader) badLine(line []byte, col, reason string) error {
	return r.bad(BadRecord{
		Line:   r.lr.line,
		Column: col,
		Reason: clipReason(reason),
		Raw:    bytes.Clone(line),
	})
}

func jsonTypeName(v *fastjson.Value) string {
	switch v.Type() {
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return "bool"
	}
	return v.Type().String()
}

// fromRaw converts the raw text of a non-null JSON value, already
// validated by scanValue, to a scalar column's type.
func (c *conv) fromRaw(v []byte, x *cell, scratch, scratch2 *[]byte) error {
	x.null = false
	t := v[0]
	wrong := func() error {
		return fmt.Errorf("expected %s, got %s", c.kind, rawTypeName(v))
	}
	isNum := t == '-' || t >= '0' && t <= '9'
	var str []byte
	if t == '"' {
		str = v[1 : len(v)-1]
		if bytes.IndexByte(str, '\\') >= 0 {
			*scratch2 = unescape((*scratch2)[:0], str)
			str = *scratch2
		}
	}
	switch c.kind {
	case kBool:
		switch t {
		case 't':
			x.i = 1
		case 'f':
			x.i = 0
		default:
			return wrong()
		}
		return nil
	case kInt32, kInt64:
		if !isNum {
			return wrong()
		}
		i, err := parseInt(v)
		if err != nil {
			i, err = integralNumber(v)
			if err != nil {
				return fmt.Errorf("invalid %s %s: %v", c.kind, clip(v), err)
			}
		}
		if c.kind == kInt32 && (i < math.MinInt32 || i > math.MaxInt32) {
			return fmt.Errorf("value %d overflows int32", i)
		}
		x.i = i
		return nil
	case kFloat32, kFloat64:
		if !isNum {
			return wrong()
		}
		return c.fromText(v, x)
	case kString, kDate:
		if t != '"' {
			return wrong()
		}
		return c.fromText(str, x)
	case kBinary:
		if t != '"' {
			return wrong()
		}
		d, err := decodeBase64((*scratch)[:0], str)
		*scratch = d
		if err != nil {
			return err
		}
		x.b = d
		return nil
	case kTimestamp, kDecimal:
		if t == '"' {
			return c.fromText(str, x)
		}
		if !isNum {
			return wrong()
		}
		if c.kind == kTimestamp {
			i, err := parseInt(v)
			if err != nil {
				return fmt.Errorf("invalid epoch timestamp %s: want an integer count of %s", clip(v), c.unit)
			}
			x.i = i
			return nil
		}
		return c.fromText(v, x)
	}
	return wrong()
}

// fromJSON converts a non-null scalar JSON value.
func (c *conv) fromJSON(v *fastjson.Value, x *cell, scratch *[]byte) error {
	x.null = false
	t := v.Type()
	wrong := func() error {
		return fmt.Errorf("expected %s, got %s", c.kind, jsonTypeName(v))
	}
	switch c.kind {
	case kBool:
		switch t {
		case fastjson.TypeTrue:
			x.i = 1
		case fastjson.TypeFalse:
			x.i = 0
		default:
			return wrong()
		}
		return nil
	case kInt32, kInt64:
		if t != fastjson.TypeNumber {
			return wrong()
		}
		raw := v.MarshalTo((*scratch)[:0])
		*scratch = raw
		i, err := parseInt(raw)
		if err != nil {
			i, err = integralNumber(raw)
			if err != nil {
				return fmt.Errorf("invalid %s %s: %v", c.kind, clip(raw), err)
			}
		}
		if c.kind == kInt32 && (i < math.MinInt32 || i > math.MaxInt32) {
			return fmt.Errorf("value %d overflows int32", i)
		}
		x.i = i
		return nil
	case kFloat32, kFloat64:
		if t != fastjson.TypeNumber {
			return wrong()
		}
		raw := v.MarshalTo((*scratch)[:0])
		*scratch = raw
		if !isJSONNumber(raw) {
			return fmt.Errorf("invalid number %s", clip(raw))
		}
		return c.fromText(raw, x)
	case kString:
		if t != fastjson.TypeString {
			return wrong()
		}
		b, _ := v.StringBytes()
		return c.fromText(b, x)
	case kBinary:
		if t != fastjson.TypeString {
			return wrong()
		}
		b, _ := v.StringBytes()
		d, err := decodeBase64((*scratch)[:0], b)
		*scratch = d
		if err != nil {
			return err
		}
		x.b = d
		return nil
	case kDate:
		if t != fastjson.TypeString {
			return wrong()
		}
		b, _ := v.StringBytes()
		return c.fromText(b, x)
	case kTimestamp, kDecimal:
		switch t {
		case fastjson.TypeString:
			b, _ := v.StringBytes()
			return c.fromText(b, x)
		case fastjson.TypeNumber:
			raw := v.MarshalTo((*scratch)[:0])
			*scratch = raw
			if !isJSONNumber(raw) {
				return fmt.Errorf("invalid number %s", clip(raw))
			}
			if c.kind == kTimestamp {
				i, err := parseInt(raw)
				if err != nil {
					return fmt.Errorf("invalid epoch timestamp %s: want an integer count of %s", clip(raw), c.unit)
				}
				x.i = i
				return nil
			}
			return c.fromText(raw, x)
		}
		return wrong()
	}
	return wrong()
}

// integralNumber accepts a JSON number with a zero fraction or a positive
// exponent ("3.0", "1e3") as an integer; anything fractional is an error.
func integralNumber(raw []byte) (int64, error) {
	if !isJSONNumber(raw) {
		return 0, errors.New("not a number")
	}
	d, err := parseDecimal(raw, 38, 0)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	bi := d.BigInt()
	if !bi.IsInt64() {
		return 0, errors.New("overflows int64")
	}
	return bi.Int64(), nil
}

// nestedJSON validates (b == nil) or appends (b != nil) a value of a list,
// struct or map column, or a leaf inside one. Validation and appending walk
// the same path, so an append after a successful validation cannot fail.
func (c *conv) nestedJSON(b array.Builder, v *fastjson.Value, scratch *[]byte) error {
	if v == nil || v.Type() == fastjson.TypeNull {
		if b != nil {
			b.AppendNull()
		}
		return nil
	}
	switch c.kind {
	case kList:
		arr, err := v.Array()
		if err != nil {
			return fmt.Errorf("expected array, got %s", jsonTypeName(v))
		}
		var vb array.Builder
		if b != nil {
			lb := b.(*array.ListBuilder)
			lb.Append(true)
			vb = lb.ValueBuilder()
		}
		for i, e := range arr {
			if err := c.elems[0].nestedJSON(vb, e, scratch); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case kStruct:
		obj, err := v.Object()
		if err != nil {
			return fmt.Errorf("expected object, got %s", jsonTypeName(v))
		}
		var sb *array.StructBuilder
		if b != nil {
			sb = b.(*array.StructBuilder)
			sb.Append(true)
		}
		for i, name := range c.names {
			var fb array.Builder
			if sb != nil {
				fb = sb.FieldBuilder(i)
			}
			if err := c.elems[i].nestedJSON(fb, obj.Get(name), scratch); err != nil {
				return fmt.Errorf(".%s: %w", name, err)
			}
		}
		return nil
	case kMap:
		obj, err := v.Object()
		if err != nil {
			return fmt.Errorf("expected object, got %s", jsonTypeName(v))
		}
		var kb, ib array.Builder
		if b != nil {
			mb := b.(*array.MapBuilder)
			mb.Append(true)
			kb, ib = mb.KeyBuilder(), mb.ItemBuilder()
		}
		var first error
		obj.Visit(func(k []byte, e *fastjson.Value) {
			if first != nil {
				return
			}
			var kx cell
			if err := c.elems[0].fromText(k, &kx); err != nil {
				first = fmt.Errorf("key %q: %w", clip(k), err)
				return
			}
			if kb != nil {
				c.elems[0].appendCell(kb, &kx)
			}
			if err := c.elems[1].nestedJSON(ib, e, scratch); err != nil {
				first = fmt.Errorf("[%q]: %w", clip(k), err)
			}
		})
		return first
	}
	var x cell
	if err := c.fromJSON(v, &x, scratch); err != nil {
		return err
	}
	if b != nil {
		c.appendCell(b, &x)
	}
	return nil
}
