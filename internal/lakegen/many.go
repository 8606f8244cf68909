package lakegen

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ManyOptions shape a very wide data set (see Many).
type ManyOptions struct {
	Format      WideFormat // WideJSON or WideParquet
	Columns     int        // number of columns (the benchmark uses 200)
	Files       int        // total number of files
	Days        int        // dt= partitions starting 2026-01-01; files are spread evenly over them
	RowsPerFile int
	Seed        uint64
}

// manyKinds are the column types of a very wide table, in the order they
// repeat: column i has kind i%5.
var manyKinds = []struct{ typ, sql string }{
	{"int64", "BIGINT"},
	{"float64", "DOUBLE"},
	{"string", "VARCHAR"}, // low cardinality
	{"bool", "BOOLEAN"},
	{"string", "VARCHAR"}, // high cardinality, about 12 bytes
}

// ManyColumns are the columns of a very wide table of n columns: c000,
// c001, ... whose types repeat int64, float64, a low-cardinality string,
// bool, a high-cardinality string. Every tenth value of the float and the
// high-cardinality string columns is null.
func ManyColumns(n int) []WideColumn {
	cols := make([]WideColumn, n)
	for i := range cols {
		k := manyKinds[i%len(manyKinds)]
		cols[i] = WideColumn{Name: fmt.Sprintf("c%03d", i), Type: k.typ, SQLType: k.sql}
	}
	return cols
}

// manyValue is one generated cell: which kind, and its value.
type manyValue struct {
	null bool
	i    int64
	f    float64
	s    string
	b    bool
}

func genManyValue(rng *rand.Rand, col int) manyValue {
	switch col % len(manyKinds) {
	case 0:
		return manyValue{i: int64(rng.IntN(10_000_000))}
	case 1:
		if rng.IntN(10) == 0 {
			return manyValue{null: true}
		}
		return manyValue{f: float64(rng.IntN(1_000_000)) / 100}
	case 2:
		return manyValue{s: wideTags[rng.IntN(len(wideTags))]}
	case 3:
		return manyValue{b: rng.IntN(2) == 0}
	default:
		if rng.IntN(10) == 0 {
			return manyValue{null: true}
		}
		return manyValue{s: fmt.Sprintf("v-%09d", rng.IntN(1_000_000_000))}
	}
}

// Many writes a very wide data set: <dir>/dt=YYYY-MM-DD/part-NNNNNN<ext>,
// o.Files files spread evenly over o.Days days from 2026-01-01, each with
// o.RowsPerFile rows of ManyColumns(o.Columns), as NDJSON or snappy Parquet.
func Many(dir string, o ManyOptions) (Stats, error) {
	var st Stats
	if o.Files <= 0 || o.Days <= 0 || o.RowsPerFile <= 0 || o.Columns <= 0 {
		return st, fmt.Errorf("lakegen: wide data set needs positive Files, Days, RowsPerFile and Columns (got %d, %d, %d, %d)", o.Files, o.Days, o.RowsPerFile, o.Columns)
	}
	if o.Format != WideJSON && o.Format != WideParquet {
		return st, fmt.Errorf("lakegen: many-column data sets are JSON or Parquet, not %v", o.Format)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 9))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cols := ManyColumns(o.Columns)
	schema := manyArrowSchema(cols)
	mem := memory.NewGoAllocator()
	var buf bytes.Buffer
	for f := 0; f < o.Files; f++ {
		day := start.AddDate(0, 0, f*o.Days/o.Files)
		path := filepath.Join(dir, "dt="+day.Format("2006-01-02"), fmt.Sprintf("part-%06d%s", f, o.Format.Ext()))
		var err error
		if o.Format == WideParquet {
			err = writeManyParquet(path, rng, schema, o.RowsPerFile, mem)
		} else {
			err = writeManyJSON(path, rng, cols, o.RowsPerFile, &buf)
		}
		if err != nil {
			return st, fmt.Errorf("lakegen: %s: %w", path, err)
		}
		if err := st.add(path, o.RowsPerFile); err != nil {
			return st, err
		}
	}
	return st, nil
}

func manyArrowSchema(cols []WideColumn) *arrow.Schema {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		var t arrow.DataType
		switch c.Type {
		case "int64":
			t = arrow.PrimitiveTypes.Int64
		case "float64":
			t = arrow.PrimitiveTypes.Float64
		case "bool":
			t = arrow.FixedWidthTypes.Boolean
		default:
			t = arrow.BinaryTypes.String
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t, Nullable: true}
	}
	return arrow.NewSchema(fields, nil)
}

func writeManyParquet(path string, rng *rand.Rand, schema *arrow.Schema, rows int, mem memory.Allocator) error {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for r := 0; r < rows; r++ {
		for c := range schema.NumFields() {
			v := genManyValue(rng, c)
			fb := b.Field(c)
			if v.null {
				fb.AppendNull()
				continue
			}
			switch x := fb.(type) {
			case *array.Int64Builder:
				x.Append(v.i)
			case *array.Float64Builder:
				x.Append(v.f)
			case *array.BooleanBuilder:
				x.Append(v.b)
			case *array.StringBuilder:
				x.Append(v.s)
			}
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	return writeParquet(path, rec)
}

func writeManyJSON(path string, rng *rand.Rand, cols []WideColumn, rows int, buf *bytes.Buffer) error {
	buf.Reset()
	for r := 0; r < rows; r++ {
		buf.WriteByte('{')
		for c, col := range cols {
			if c > 0 {
				buf.WriteByte(',')
			}
			buf.WriteByte('"')
			buf.WriteString(col.Name)
			buf.WriteString(`":`)
			v := genManyValue(rng, c)
			switch {
			case v.null:
				buf.WriteString("null")
			case col.Type == "int64":
				buf.WriteString(strconv.FormatInt(v.i, 10))
			case col.Type == "float64":
				buf.WriteString(strconv.FormatFloat(v.f, 'f', -1, 64))
			case col.Type == "bool":
				buf.WriteString(strconv.FormatBool(v.b))
			default:
				buf.WriteString(strconv.Quote(v.s))
			}
		}
		buf.WriteString("}\n")
	}
	w, closeFn, err := textFile(path, false)
	if err != nil {
		return err
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		closeFn()
		return err
	}
	return closeFn()
}
