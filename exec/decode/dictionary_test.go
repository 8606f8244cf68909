package decode

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// dictFile is a Parquet file of n rows: an int64 "k", a low-cardinality
// string "city" (every 9th null), a binary "tag" and a string "uniq" with
// a value per row, written with dictionary encoding in row groups of
// rgRows, with the Arrow schema stored (large types when large is set, as
// Polars and DuckDB write them).
func dictFile(t *testing.T, n, rgRows int, large bool) ([]byte, []string) {
	t.Helper()
	st, bt := arrow.BinaryTypes.String, arrow.BinaryTypes.Binary
	if large {
		st, bt = arrow.BinaryTypes.LargeString, arrow.BinaryTypes.LargeBinary
	}
	fs := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int64},
		{Name: "city", Type: st, Nullable: true},
		{Name: "tag", Type: bt, Nullable: true},
		{Name: "uniq", Type: st, Nullable: true},
	}, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, fs)
	defer rb.Release()
	cities := []string{"Lisbon", "Porto", "Évora", "", "Faro"}
	var want []string
	for i := range n {
		rb.Field(0).(*array.Int64Builder).Append(int64(i))
		city := "null"
		if i%9 == 0 {
			rb.Field(1).AppendNull()
		} else {
			city = cities[i%len(cities)]
			rb.Field(1).(array.StringLikeBuilder).Append(city)
		}
		tag := []byte{byte(i % 3), 0xff}
		switch b := rb.Field(2).(type) {
		case *array.BinaryBuilder:
			b.Append(tag)
		}
		u := fmt.Sprintf("u%06d", i)
		rb.Field(3).(array.StringLikeBuilder).Append(u)
		want = append(want, fmt.Sprintf("%d|%s|%s|%s", i, city, string(tag), u))
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	return encodeParquet(t, rec, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(int64(rgRows)), parquet.WithDictionaryDefault(true)),
		pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())), want
}

var dictSchema = sch(
	field("k", arrow.PrimitiveTypes.Int64, false),
	field("city", arrow.BinaryTypes.String, true),
	field("tag", arrow.BinaryTypes.Binary, true),
	field("uniq", arrow.BinaryTypes.String, true),
)

// readDense reads data with o, checks which columns came as dictionaries
// and returns the rows with every column made plain.
func readDense(t *testing.T, data []byte, o Options, rgs []int) (rows []string, dictCols map[string]bool) {
	t.Helper()
	o.Key = "d.parquet"
	r, err := NewParquet(context.Background(), bytes.NewReader(data), int64(len(data)), o, rgs)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	dictCols = map[string]bool{}
	for {
		b, err := r.Next()
		if err == io.EOF {
			return rows, dictCols
		}
		if err != nil {
			t.Fatal(err)
		}
		cols := make([]arrow.Array, b.NumCols())
		for j, c := range b.Columns() {
			if dt, ok := c.DataType().(*arrow.DictionaryType); ok {
				dictCols[b.Schema().Field(j).Name] = true
				if !arrow.TypeEqual(dt.ValueType, o.Schema.Field(j).Type) || !arrow.TypeEqual(b.Schema().Field(j).Type, dt) {
					t.Errorf("column %s: %s in a batch whose schema says %s", b.Schema().Field(j).Name, dt, b.Schema().Field(j).Type)
				}
			}
			if cols[j], err = Dense(o.Alloc, c); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < int(b.NumRows()); i++ {
			row := ""
			for j, c := range cols {
				if j > 0 {
					row += "|"
				}
				row += render(c, i)
			}
			rows = append(rows, row)
		}
		for _, c := range cols {
			c.Release()
		}
		b.Release()
	}
}

// Columns named in Options.Dictionaries come as dictionaries when the
// file stores them so in large row groups, with the stored Arrow schema's
// large types too; Dense makes them the same values as a plain read.
func TestParquetDictionaries(t *testing.T) {
	for _, large := range []bool{false, true} {
		t.Run(fmt.Sprintf("large=%v", large), func(t *testing.T) {
			mem := checked(t)
			data, want := dictFile(t, 3000, 1000, large)
			plain, got := readDense(t, data, Options{Schema: dictSchema, Alloc: mem, BatchRows: 500}, nil)
			if len(got) != 0 {
				t.Fatalf("dictionaries without asking: %v", got)
			}
			eqRows(t, plain, want)
			dict := map[string]bool{"city": true, "tag": true, "uniq": true}
			rows, got := readDense(t, data, Options{Schema: dictSchema, Alloc: mem, BatchRows: 500, Dictionaries: dict}, nil)
			// uniq fell back to plain pages: still read, as a dictionary
			// or not, and right either way.
			if !got["city"] || !got["tag"] {
				t.Fatalf("dictionary columns %v, want city and tag", got)
			}
			eqRows(t, rows, want)
			// Only some row groups, still right.
			rows, _ = readDense(t, data, Options{Schema: dictSchema, Alloc: mem, BatchRows: 500, Dictionaries: dict}, []int{2, 0})
			eqRows(t, rows, append(append([]string(nil), want[2000:]...), want[:1000]...))
		})
	}
}

// Small row groups (batches the executor would concatenate) and columns
// not named stay plain.
func TestParquetDictionariesOnlyLarge(t *testing.T) {
	mem := checked(t)
	data, want := dictFile(t, 300, 100, false)
	rows, got := readDense(t, data, Options{Schema: dictSchema, Alloc: mem, BatchRows: 500, Dictionaries: map[string]bool{"city": true}}, nil)
	if len(got) != 0 {
		t.Fatalf("dictionaries from row groups of 100 rows: %v", got)
	}
	eqRows(t, rows, want)
	data, want = dictFile(t, 2000, 1000, false)
	rows, got = readDense(t, data, Options{Schema: dictSchema, Alloc: mem, BatchRows: 500, Dictionaries: map[string]bool{"tag": true}}, nil)
	if len(got) != 1 || !got["tag"] {
		t.Fatalf("dictionary columns %v, want tag alone", got)
	}
	eqRows(t, rows, want)
}

// Dense on filtered and sliced dictionary arrays, with nulls.
func TestDense(t *testing.T) {
	mem := checked(t)
	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	defer db.Release()
	vals := []string{"a", "bb", "", "a", "ccc", "bb"}
	for i, v := range vals {
		if i == 2 {
			db.AppendNull()
			continue
		}
		if err := db.AppendString(v); err != nil {
			t.Fatal(err)
		}
	}
	d := db.NewDictionaryArray()
	defer d.Release()
	check := func(a arrow.Array, want ...string) {
		t.Helper()
		out, err := Dense(mem, a)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Release()
		if out.DataType().ID() != arrow.STRING || out.Len() != len(want) {
			t.Fatalf("Dense: %s of %d", out.DataType(), out.Len())
		}
		for i, w := range want {
			if g := render(out, i); g != w {
				t.Errorf("row %d: %q, want %q", i, g, w)
			}
		}
	}
	check(d, "a", "bb", "null", "a", "ccc", "bb")
	s := array.NewSlice(d, 2, 5)
	defer s.Release()
	check(s, "null", "a", "ccc")
	mb := array.NewBooleanBuilder(mem)
	defer mb.Release()
	mb.AppendValues([]bool{false, true, true, false, true, false}, nil)
	mask := mb.NewBooleanArray()
	defer mask.Release()
	f, err := compute.FilterArray(compute.WithAllocator(context.Background(), mem), d, mask, *compute.DefaultFilterOptions())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	check(f, "bb", "null", "ccc")
	// Other index types take the slow path, with the same result.
	db8 := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
	defer db8.Release()
	for _, v := range []string{"x", "y", "x"} {
		if err := db8.AppendString(v); err != nil {
			t.Fatal(err)
		}
	}
	db8.AppendNull()
	d8 := db8.NewDictionaryArray()
	defer d8.Release()
	check(d8, "x", "y", "x", "null")
	// Not a dictionary: the same array back.
	plain, _ := Dense(mem, mask)
	if plain != arrow.Array(mask) {
		t.Error("Dense of a plain array is not that array")
	}
	plain.Release()
}
