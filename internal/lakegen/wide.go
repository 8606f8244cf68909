package lakegen

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// WideFormat is the file format of a wide data set.
type WideFormat int

// The formats Wide writes.
const (
	WideJSON    WideFormat = iota + 1 // newline-delimited JSON, *.json
	WideCSVGzip                       // gzip CSV with a header row, *.csv.gz
	WideParquet                       // snappy Parquet, *.parquet
)

func (f WideFormat) String() string {
	switch f {
	case WideJSON:
		return "json"
	case WideCSVGzip:
		return "csv"
	case WideParquet:
		return "parquet"
	}
	return "WideFormat(" + strconv.Itoa(int(f)) + ")"
}

// Ext is the file name extension Wide gives files of this format.
func (f WideFormat) Ext() string {
	switch f {
	case WideJSON:
		return ".json"
	case WideCSVGzip:
		return ".csv.gz"
	case WideParquet:
		return ".parquet"
	}
	return ""
}

// WideColumn is one column of the wide data set: its name, its type in the
// pipeline language and the same type in DuckDB SQL (so that a benchmark or
// interop test can read the raw files with explicit types, not detection).
type WideColumn struct {
	Name, Type, SQLType string
}

// WideColumns are the 20 columns of the benchmark data set, a mix of
// integers, floats, booleans, low- and high-cardinality strings, a
// timestamp and nullable columns — the shape of a typical event export.
// The hive partition key dt is not among them: it is in the path only.
var WideColumns = []WideColumn{
	{"id", "int64", "BIGINT"},
	{"user_id", "int64", "BIGINT"},
	{"session", "string", "VARCHAR"},
	{"event", "string", "VARCHAR"},
	{"country", "string", "VARCHAR"},
	{"device", "string", "VARCHAR"},
	{"browser", "string", "VARCHAR"},
	{"price", "float64", "DOUBLE"},
	{"qty", "int32", "INTEGER"},
	{"discount", "float64", "DOUBLE"},
	{"score", "float64", "DOUBLE"},
	{"is_member", "bool", "BOOLEAN"},
	{"is_test", "bool", "BOOLEAN"},
	{"created_at", "timestamp(ms)", "TIMESTAMP"},
	{"latency_ms", "int64", "BIGINT"},
	{"bytes", "int64", "BIGINT"},
	{"tag", "string", "VARCHAR"},
	{"note", "string", "VARCHAR"},
	{"rating", "int32", "INTEGER"},
	{"lat", "float64", "DOUBLE"},
}

// WideOptions shape a wide data set.
type WideOptions struct {
	Format      WideFormat
	Files       int // total number of files
	Days        int // dt= partitions starting 2026-01-01; files are spread evenly over them
	RowsPerFile int
	Seed        uint64
}

var (
	wideEvents   = []string{"view", "click", "add_to_cart", "purchase", "refund", "search"}
	wideDevices  = []string{"desktop", "mobile", "tablet", "tv"}
	wideBrowsers = []string{"firefox", "chrome", "safari", "edge", "other"}
	wideTags     = []string{"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"}
	wideWords    = []string{"quick", "brown", "fox", "jumps", "over", "lazy", "dog", "lorem", "ipsum", "dolor", "sit", "amet"}
)

// wideRow is one generated row; null fields are marked by the has* flags.
type wideRow struct {
	id, userID              int64
	session, event, country string
	device, browser         string
	price                   float64
	qty                     int32
	discount                float64
	hasDiscount             bool
	score                   float64
	isMember, isTest        bool
	createdAt               time.Time
	latencyMs, bytes        int64
	tag, note               string
	hasNote                 bool
	rating                  int32
	lat                     float64
}

func genWideRow(rng *rand.Rand, id int64, day time.Time) wideRow {
	r := wideRow{
		id:        id,
		userID:    int64(rng.IntN(1_000_000)),
		session:   fmt.Sprintf("s-%08x", rng.Uint32()),
		event:     wideEvents[rng.IntN(len(wideEvents))],
		country:   countries[rng.IntN(len(countries))],
		device:    wideDevices[rng.IntN(len(wideDevices))],
		browser:   wideBrowsers[rng.IntN(len(wideBrowsers))],
		price:     float64(rng.IntN(1_000_000)) / 100,
		qty:       int32(1 + rng.IntN(20)),
		score:     float64(rng.IntN(10_000)) / 1000,
		isMember:  rng.IntN(3) == 0,
		isTest:    rng.IntN(50) == 0,
		createdAt: day.Add(time.Duration(rng.IntN(86_400_000)) * time.Millisecond),
		latencyMs: int64(rng.IntN(5000)),
		bytes:     int64(rng.IntN(10_000_000)),
		tag:       wideTags[rng.IntN(len(wideTags))],
		rating:    int32(rng.IntN(6)),
		lat:       float64(rng.IntN(180_000_000)-90_000_000) / 1e6,
	}
	if rng.IntN(10) != 0 {
		r.hasDiscount = true
		r.discount = float64(rng.IntN(5000)) / 100
	}
	if rng.IntN(4) != 0 {
		r.hasNote = true
		n := 3 + rng.IntN(8)
		words := make([]string, n)
		for i := range words {
			words[i] = wideWords[rng.IntN(len(wideWords))]
		}
		r.note = strings.Join(words, " ")
	}
	return r
}

const wideTimeLayout = "2006-01-02T15:04:05.000Z07:00"

func (r *wideRow) writeJSON(w io.Writer) {
	discount, note := "null", "null"
	if r.hasDiscount {
		discount = strconv.FormatFloat(r.discount, 'f', -1, 64)
	}
	if r.hasNote {
		note = strconv.Quote(r.note)
	}
	fmt.Fprintf(w, `{"id":%d,"user_id":%d,"session":%q,"event":%q,"country":%q,"device":%q,"browser":%q,`+
		`"price":%s,"qty":%d,"discount":%s,"score":%s,"is_member":%t,"is_test":%t,"created_at":%q,`+
		`"latency_ms":%d,"bytes":%d,"tag":%q,"note":%s,"rating":%d,"lat":%s}`+"\n",
		r.id, r.userID, r.session, r.event, r.country, r.device, r.browser,
		strconv.FormatFloat(r.price, 'f', -1, 64), r.qty, discount, strconv.FormatFloat(r.score, 'f', -1, 64),
		r.isMember, r.isTest, r.createdAt.Format(wideTimeLayout), r.latencyMs, r.bytes, r.tag, note, r.rating,
		strconv.FormatFloat(r.lat, 'f', -1, 64))
}

// writeCSV writes one row; a null is an empty field (the language's default
// null value), so notes never contain commas or quotes.
func (r *wideRow) writeCSV(w io.Writer) {
	discount, note := "", ""
	if r.hasDiscount {
		discount = strconv.FormatFloat(r.discount, 'f', -1, 64)
	}
	if r.hasNote {
		note = r.note
	}
	fmt.Fprintf(w, "%d,%d,%s,%s,%s,%s,%s,%s,%d,%s,%s,%t,%t,%s,%d,%d,%s,%s,%d,%s\n",
		r.id, r.userID, r.session, r.event, r.country, r.device, r.browser,
		strconv.FormatFloat(r.price, 'f', -1, 64), r.qty, discount, strconv.FormatFloat(r.score, 'f', -1, 64),
		r.isMember, r.isTest, r.createdAt.Format(wideTimeLayout), r.latencyMs, r.bytes, r.tag, note, r.rating,
		strconv.FormatFloat(r.lat, 'f', -1, 64))
}

func wideArrowSchema() *arrow.Schema {
	ts := &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
	fields := make([]arrow.Field, len(WideColumns))
	for i, c := range WideColumns {
		var t arrow.DataType
		switch c.Type {
		case "int64":
			t = arrow.PrimitiveTypes.Int64
		case "int32":
			t = arrow.PrimitiveTypes.Int32
		case "float64":
			t = arrow.PrimitiveTypes.Float64
		case "bool":
			t = arrow.FixedWidthTypes.Boolean
		case "string":
			t = arrow.BinaryTypes.String
		case "timestamp(ms)":
			t = ts
		default:
			panic("lakegen: no arrow type for " + c.Type)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func (r *wideRow) appendTo(b *array.RecordBuilder) {
	b.Field(0).(*array.Int64Builder).Append(r.id)
	b.Field(1).(*array.Int64Builder).Append(r.userID)
	b.Field(2).(*array.StringBuilder).Append(r.session)
	b.Field(3).(*array.StringBuilder).Append(r.event)
	b.Field(4).(*array.StringBuilder).Append(r.country)
	b.Field(5).(*array.StringBuilder).Append(r.device)
	b.Field(6).(*array.StringBuilder).Append(r.browser)
	b.Field(7).(*array.Float64Builder).Append(r.price)
	b.Field(8).(*array.Int32Builder).Append(r.qty)
	if r.hasDiscount {
		b.Field(9).(*array.Float64Builder).Append(r.discount)
	} else {
		b.Field(9).AppendNull()
	}
	b.Field(10).(*array.Float64Builder).Append(r.score)
	b.Field(11).(*array.BooleanBuilder).Append(r.isMember)
	b.Field(12).(*array.BooleanBuilder).Append(r.isTest)
	b.Field(13).(*array.TimestampBuilder).Append(arrow.Timestamp(r.createdAt.UnixMilli()))
	b.Field(14).(*array.Int64Builder).Append(r.latencyMs)
	b.Field(15).(*array.Int64Builder).Append(r.bytes)
	b.Field(16).(*array.StringBuilder).Append(r.tag)
	if r.hasNote {
		b.Field(17).(*array.StringBuilder).Append(r.note)
	} else {
		b.Field(17).AppendNull()
	}
	b.Field(18).(*array.Int32Builder).Append(r.rating)
	b.Field(19).(*array.Float64Builder).Append(r.lat)
}

// Wide writes the benchmark's wide data set: <dir>/dt=YYYY-MM-DD/part-NNNNNN<ext>,
// o.Files files spread evenly over o.Days days from 2026-01-01, each with
// o.RowsPerFile rows of WideColumns. Row ids are unique across the set.
// With ~150 rows a JSON file is about 50 KB.
func Wide(dir string, o WideOptions) (Stats, error) {
	var st Stats
	if o.Files <= 0 || o.Days <= 0 || o.RowsPerFile <= 0 {
		return st, fmt.Errorf("lakegen: wide data set needs positive Files, Days and RowsPerFile (got %d, %d, %d)", o.Files, o.Days, o.RowsPerFile)
	}
	if o.Format.Ext() == "" {
		return st, fmt.Errorf("lakegen: unknown wide format %v", o.Format)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 4))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var schema *arrow.Schema
	if o.Format == WideParquet {
		schema = wideArrowSchema()
	}
	mem := memory.NewGoAllocator()
	for f := 0; f < o.Files; f++ {
		// Files f*Days/Files .. go to the same day, so every day gets
		// Files/Days files (±1) and keys stay sorted by day.
		day := start.AddDate(0, 0, f*o.Days/o.Files)
		path := filepath.Join(dir, "dt="+day.Format("2006-01-02"), fmt.Sprintf("part-%06d%s", f, o.Format.Ext()))
		base := int64(f) * int64(o.RowsPerFile)
		if err := writeWideFile(path, o, rng, base, day, schema, mem); err != nil {
			return st, fmt.Errorf("lakegen: %s: %w", path, err)
		}
		if err := st.add(path, o.RowsPerFile); err != nil {
			return st, err
		}
	}
	return st, nil
}

func writeWideFile(path string, o WideOptions, rng *rand.Rand, base int64, day time.Time, schema *arrow.Schema, mem memory.Allocator) error {
	if o.Format == WideParquet {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for r := 0; r < o.RowsPerFile; r++ {
			row := genWideRow(rng, base+int64(r), day)
			row.appendTo(b)
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		return writeParquet(path, rec)
	}
	w, closeFn, err := textFile(path, o.Format == WideCSVGzip)
	if err != nil {
		return err
	}
	if o.Format == WideCSVGzip {
		names := make([]string, len(WideColumns))
		for i, c := range WideColumns {
			names[i] = c.Name
		}
		fmt.Fprintln(w, strings.Join(names, ","))
	}
	for r := 0; r < o.RowsPerFile; r++ {
		row := genWideRow(rng, base+int64(r), day)
		if o.Format == WideJSON {
			row.writeJSON(w)
		} else {
			row.writeCSV(w)
		}
	}
	return closeFn()
}

// WideSchemaHCL is the data set's schema as a pipeline-language schema
// block named name, for a generated schemas/<name>.hcl.
func WideSchemaHCL(name string) string { return SchemaHCL(name, WideColumns) }
