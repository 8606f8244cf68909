package planner

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fastjson"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// Sampler reads the beginning of a text object, decompressed: at most
// max bytes, for schema inference (sluice schema infer, and
// on_schema_change = "add_columns" on JSON and CSV sources). exec's
// Footers implements it next to FooterReader; Options.Footers that does
// not leaves JSON and CSV sources unsampled.
type Sampler interface {
	SampleText(ctx context.Context, store objstore.Store, key string, c spec.Compression, max int64) ([]byte, error)
}

// SampleOptions bound and shape schema inference.
type SampleOptions struct {
	Format      spec.Format
	Compression spec.Compression
	CSV         spec.CSVOptions
	Objects     int   // objects sampled, first in key order (0: DefaultSampleObjects)
	Rows        int   // records read per text object (0: DefaultSampleRows)
	Bytes       int64 // decompressed bytes read per text object (0: DefaultSampleBytes)
	Partitions  []string
	Include     []string
	Exclude     []string
}

// Sampling defaults: a few objects, bounded bytes, so that plan stays
// cheap when add_columns samples new inputs.
const (
	DefaultSampleObjects       = 10
	DefaultSampleRows          = 1000
	DefaultSampleBytes   int64 = 4 << 20
)

// Sample is what schema inference found: the columns, in first-seen
// order, and what it read.
type Sample struct {
	Columns []schema.Column
	// Mixed lists, per column, the types seen when they had to be widened
	// to string (a JSON value of another type than string in such a column
	// is a bad record when read).
	Mixed map[string][]string
	// NeverNull lists the JSON or CSV columns present and non-null in
	// every record sampled. They are nullable all the same: a sample never
	// proves that a later file has no null, and a null in a column that is
	// not nullable is a bad record. Parquet columns take their nullability
	// from the footers instead.
	NeverNull []string
	Objects   []string // keys sampled
	Records   int64
}

// InferSchema samples the first objects (in key order) of loc's prefix and
// infers their columns (docs/language.md, "Schema inference"). Parquet
// columns come from the footers (footers must be set); JSON lines and CSV
// records from their text, read through sampler.
func InferSchema(ctx context.Context, store objstore.Store, prefix string, o SampleOptions, footers FooterReader, sampler Sampler) (*Sample, error) {
	l, err := NewLister(ListSpec{Store: store, Prefix: prefix, Partitions: o.Partitions, Include: o.Include, Exclude: o.Exclude, Prefetch: -1})
	if err != nil {
		return nil, err
	}
	var keys []string
	n := o.Objects
	if n <= 0 {
		n = DefaultSampleObjects
	}
	for len(keys) < n && l.Next(ctx) {
		if f := l.File(); f.Size > 0 {
			keys = append(keys, f.Key)
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return SampleKeys(ctx, store, keys, o, footers, sampler)
}

// SampleKeys infers the columns of the given objects.
func SampleKeys(ctx context.Context, store objstore.Store, keys []string, o SampleOptions, footers FooterReader, sampler Sampler) (*Sample, error) {
	inf := newInferrer()
	inf.text = o.Format != spec.FormatParquet
	s := &Sample{}
	for _, key := range keys {
		switch o.Format {
		case spec.FormatParquet:
			if footers == nil {
				return nil, errors.New("schema inference: no footer reader")
			}
			info, err := store.Head(ctx, key)
			if err != nil {
				return nil, err
			}
			cols, err := footers.ReadColumns(ctx, store, key, info.Size)
			if err != nil {
				return nil, err
			}
			inf.record()
			for _, c := range cols {
				inf.add(c.Name, typeValue{t: c.Type, null: c.Nullable})
			}
			s.Records++
		case spec.FormatJSON, spec.FormatCSV:
			if sampler == nil {
				return nil, errors.New("schema inference: no text sampler")
			}
			max := o.Bytes
			if max <= 0 {
				max = DefaultSampleBytes
			}
			data, err := sampler.SampleText(ctx, store, key, o.Compression, max)
			if err != nil {
				return nil, err
			}
			rows := o.Rows
			if rows <= 0 {
				rows = DefaultSampleRows
			}
			var got int
			if o.Format == spec.FormatJSON {
				got, err = inf.jsonLines(data, rows, int64(len(data)) >= max)
			} else {
				got, err = inf.csvRecords(data, o.CSV, rows, int64(len(data)) >= max)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			s.Records += int64(got)
		default:
			return nil, fmt.Errorf("schema inference: unknown format %s", o.Format)
		}
		s.Objects = append(s.Objects, key)
	}
	s.Columns, s.Mixed, s.NeverNull = inf.columns()
	for _, p := range o.Partitions {
		s.Columns = slices.DeleteFunc(s.Columns, func(c schema.Column) bool { return c.Name == p })
	}
	return s, nil
}

// typeValue is a value's inferred type; null: the value was null (t is
// then Invalid unless it is a Parquet column, whose null means nullable).
type typeValue struct {
	t    schema.Type
	null bool
}

type inferred struct {
	name    string
	t       schema.Type // Invalid: only nulls seen
	null    bool        // a null or missing value seen
	seen    int64       // records holding it
	kinds   []string    // the types seen, for Mixed
	widened bool        // to string, from other types
}

type inferrer struct {
	cols    []*inferred
	byName  map[string]*inferred
	records int64
	text    bool // JSON or CSV: every column is nullable (Sample.NeverNull)
}

func newInferrer() *inferrer { return &inferrer{byName: map[string]*inferred{}} }

func (f *inferrer) record() { f.records++ }

func (f *inferrer) add(name string, v typeValue) {
	if name == "" {
		return // a schema cannot declare a column without a name
	}
	c := f.byName[name]
	if c == nil {
		c = &inferred{name: name}
		f.byName[name] = c
		f.cols = append(f.cols, c)
	}
	c.seen++
	if v.null {
		c.null = true
	}
	if v.t.Kind == schema.Invalid {
		return
	}
	if k := v.t.String(); !slices.Contains(c.kinds, k) && len(c.kinds) < 8 {
		c.kinds = append(c.kinds, k)
	}
	w, ok := widen(c.t, v.t)
	if !ok {
		c.widened = true
	}
	c.t = w
}

// columns are the inferred columns in first-seen order: a column missing
// from some record, or null in one, is nullable, and so is every column of
// a text sample (neverNull names those seen in every record, never null);
// one never typed (only nulls) is a string.
func (f *inferrer) columns() (out []schema.Column, mixed map[string][]string, neverNull []string) {
	mixed = map[string][]string{}
	for _, c := range f.cols {
		t := untyped(c.t)
		seenNull := c.null || c.seen < f.records
		if f.text && !seenNull {
			neverNull = append(neverNull, c.name)
		}
		out = append(out, schema.Column{Name: c.name, Type: t, Nullable: seenNull || f.text})
		if c.widened {
			mixed[c.name] = c.kinds
		}
	}
	return out, mixed, neverNull
}

// untyped types what only nulls (or empty lists and objects) left
// untyped, down to list elements and struct fields: string.
func untyped(t schema.Type) schema.Type {
	switch t.Kind {
	case schema.Invalid:
		return schema.StringType
	case schema.List:
		e := untyped(*t.Elem)
		t.Elem = &e
	case schema.Struct:
		fs := slices.Clone(t.Fields)
		for i := range fs {
			fs[i].Type = untyped(fs[i].Type)
		}
		t.Fields = fs
	}
	return t
}

// widen is the narrowest type holding values of a and b: int32 → int64 →
// float64, date → timestamp, a struct's fields united (by name, first-seen
// order), a list's elements widened; anything else → string (ok false:
// the types did not widen into each other).
func widen(a, b schema.Type) (schema.Type, bool) {
	switch {
	case a.Kind == schema.Invalid:
		return b, true
	case b.Kind == schema.Invalid:
		return a, true
	case a.Equal(b):
		return a, true
	case a.IsNumeric() && b.IsNumeric() && a.Kind != schema.Decimal && b.Kind != schema.Decimal:
		if a.IsInteger() && b.IsInteger() {
			return schema.Int64Type, true
		}
		return schema.Float64Type, true
	case a.IsTemporal() && b.IsTemporal():
		if a.Kind == schema.Timestamp {
			return a, true
		}
		return b, true
	case a.Kind == schema.List && b.Kind == schema.List && a.Elem != nil && b.Elem != nil:
		e, ok := widen(*a.Elem, *b.Elem)
		return schema.Type{Kind: schema.List, Elem: &e}, ok
	case a.Kind == schema.Struct && b.Kind == schema.Struct:
		out := schema.Type{Kind: schema.Struct, Fields: slices.Clone(a.Fields)}
		ok := true
		for _, bf := range b.Fields {
			i := slices.IndexFunc(out.Fields, func(f schema.Field) bool { return f.Name == bf.Name })
			if i < 0 {
				out.Fields = append(out.Fields, bf)
				continue
			}
			t, fok := widen(out.Fields[i].Type, bf.Type)
			out.Fields[i].Type, ok = t, ok && fok
		}
		return out, ok
	}
	return schema.StringType, false
}

// stopAt cuts data after its last complete line when the sample was cut
// at max bytes, so a half record is not taken for a bad one.
func stopAt(data []byte, cut bool) []byte {
	if !cut {
		return data
	}
	if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
		return data[:i+1]
	}
	return nil
}

func (f *inferrer) jsonLines(data []byte, rows int, cut bool) (int, error) {
	data = stopAt(data, cut)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var p fastjson.Parser
	n, line := 0, 0
	for len(data) > 0 && n < rows {
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		line++
		if len(bytes.TrimSpace(l)) == 0 {
			continue
		}
		v, err := p.ParseBytes(l)
		if err != nil {
			return n, fmt.Errorf("line %d: invalid JSON: %v", line, err)
		}
		obj, err := v.Object()
		if err != nil {
			return n, fmt.Errorf("line %d: not a JSON object (got %s)", line, v.Type())
		}
		f.record()
		obj.Visit(func(k []byte, x *fastjson.Value) {
			f.add(string(k), jsonType(x))
		})
		n++
	}
	return n, nil
}

// jsonType infers the type of one JSON value.
func jsonType(v *fastjson.Value) typeValue {
	switch v.Type() {
	case fastjson.TypeNull:
		return typeValue{null: true}
	case fastjson.TypeTrue, fastjson.TypeFalse:
		return typeValue{t: schema.BoolType}
	case fastjson.TypeNumber:
		if _, err := strconv.ParseInt(string(v.MarshalTo(nil)), 10, 64); err == nil {
			return typeValue{t: schema.Int64Type}
		}
		return typeValue{t: schema.Float64Type}
	case fastjson.TypeString:
		b, _ := v.StringBytes()
		return typeValue{t: textType(string(b), false)}
	case fastjson.TypeArray:
		arr, _ := v.Array()
		var elem schema.Type
		for _, e := range arr {
			et := jsonType(e)
			elem, _ = widen(elem, et.t)
		}
		if elem.Kind == schema.Invalid {
			// An empty list says nothing of its elements: leave it to
			// other records (string if none tells).
			return typeValue{t: schema.Type{Kind: schema.List, Elem: &schema.Type{}}}
		}
		return typeValue{t: schema.Type{Kind: schema.List, Elem: &elem}}
	case fastjson.TypeObject:
		obj, _ := v.Object()
		st := schema.Type{Kind: schema.Struct}
		obj.Visit(func(k []byte, x *fastjson.Value) {
			if len(k) == 0 {
				return // nor a struct field
			}
			t := jsonType(x).t
			if i := slices.IndexFunc(st.Fields, func(f schema.Field) bool { return f.Name == string(k) }); i >= 0 {
				st.Fields[i].Type, _ = widen(st.Fields[i].Type, t)
				return
			}
			st.Fields = append(st.Fields, schema.Field{Name: string(k), Type: t})
		})
		if len(st.Fields) == 0 {
			return typeValue{} // {} says nothing either
		}
		return typeValue{t: st}
	}
	return typeValue{t: schema.StringType}
}

// textType infers the type of a text value: RFC 3339 timestamps and
// YYYY-MM-DD dates from strings; in CSV (numbers true) integers, floats
// and booleans too.
func textType(s string, numbers bool) schema.Type {
	if numbers {
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return schema.Int64Type
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && strings.ContainsAny(s, "0123456789") {
			return schema.Float64Type
		}
		switch s {
		case "true", "false", "TRUE", "FALSE", "True", "False":
			return schema.BoolType
		}
	}
	if len(s) == 10 {
		if _, err := time.Parse(time.DateOnly, s); err == nil {
			return schema.DateType
		}
	}
	if len(s) >= 19 && (s[10] == 'T' || s[10] == ' ') {
		t := s[:10] + "T" + s[11:]
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
			if _, err := time.Parse(layout, t); err == nil {
				return schema.MustParseType("timestamp(us)")
			}
		}
	}
	return schema.StringType
}

func (f *inferrer) csvRecords(data []byte, o spec.CSVOptions, rows int, cut bool) (int, error) {
	data = stopAt(data, cut)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(data))
	if o.Delimiter != 0 {
		r.Comma = o.Delimiter
	}
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	nulls := o.NullValues
	if nulls == nil {
		nulls = []string{""}
	}
	var names []string
	header, err := r.Read()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("csv header: %v", err)
	}
	if o.Header {
		names = header
	} else {
		for i := range header {
			names = append(names, fmt.Sprintf("column%d", i+1))
		}
		f.csvRecord(names, header, nulls)
	}
	n := 0
	for n < rows {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("csv: %v", err)
		}
		f.csvRecord(names, rec, nulls)
		n++
	}
	return n, nil
}

func (f *inferrer) csvRecord(names, rec []string, nulls []string) {
	f.record()
	for i, name := range names {
		if i >= len(rec) || slices.Contains(nulls, rec[i]) {
			f.add(name, typeValue{null: true})
			continue
		}
		f.add(name, typeValue{t: textType(rec[i], true)})
	}
}

// HivePartitions finds the hive partition keys of sampled object keys
// (relative to the source prefix): the key=value directory segments that
// every key has, at the same depth, under the same name. Each is typed
// from its values as a partition key may be (int64, date, else string),
// outermost first.
func HivePartitions(rels []string) []schema.Column {
	if len(rels) == 0 {
		return nil
	}
	var names []string
	var types []schema.Type
	for n, rel := range rels {
		segs := strings.Split(rel, "/")
		segs = segs[:len(segs)-1] // the file name
		var ks []string
		var ts []schema.Type
		for _, seg := range segs {
			k, v, ok := hive.Cut(seg)
			if !ok {
				break
			}
			t := schema.StringType
			if val, ok := hive.DecodeValue(v); ok {
				switch tt := textType(val, true); tt.Kind {
				case schema.Int64, schema.Date:
					t = tt
				}
			} else {
				t = schema.Type{} // the null partition says nothing of the type
			}
			ks, ts = append(ks, k), append(ts, t)
		}
		if n == 0 {
			names, types = ks, ts
			continue
		}
		common := 0
		for common < len(names) && common < len(ks) && names[common] == ks[common] {
			common++
		}
		names, types = names[:common], types[:common]
		for i := range names {
			w, ok := widen(types[i], ts[i])
			if !ok || w.Kind != schema.Invalid && w.Kind != schema.Int64 && w.Kind != schema.Date {
				w = schema.StringType
			}
			types[i] = w
		}
	}
	var out []schema.Column
	for i, k := range names {
		out = append(out, schema.Column{Name: k, Type: untyped(types[i]), Nullable: true})
	}
	return out
}
