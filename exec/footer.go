package exec

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet/metadata"

	"github.com/sluicedata/sluice/exec/arrowtype"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// Footers reads Parquet footers for the planner (planner.FooterReader):
// the file's schema, and per row group the row count, size and the
// min/max/null-count statistics of its top-level scalar columns.
type Footers struct{}

var _ planner.FooterReader = Footers{}

// ReadFooter implements planner.FooterReader with ranged reads: only the
// footer is fetched, never the column chunks.
func (Footers) ReadFooter(ctx context.Context, store objstore.Store, key string, size int64) (planner.Footer, error) {
	var sc *arrow.Schema
	var md *metadata.FileMetaData
	err := readFooter(ctx, store, key, size, func(r *objstore.ObjectReader) (err error) {
		sc, md, err = decode.ReadParquetSchema(r, size, key)
		return err
	})
	if err != nil {
		return planner.Footer{}, err
	}
	cols, err := columnsOf(key, sc)
	if err != nil {
		return planner.Footer{}, err
	}
	types := make(map[string]schema.Type, len(cols))
	for _, c := range cols {
		types[c.Name] = c.Type
	}
	f := planner.Footer{Columns: cols}
	for i := 0; i < md.NumRowGroups(); i++ {
		rg := md.RowGroup(i)
		st := planner.RowGroupStats{Rows: rg.NumRows(), Bytes: rg.TotalCompressedSize()}
		for j := 0; j < rg.NumColumns(); j++ {
			name := md.Schema.Column(j).Path()
			if strings.Contains(name, ".") {
				continue // a nested leaf: predicates never read those
			}
			t, ok := types[name]
			if !ok {
				continue
			}
			cc, err := rg.ColumnChunk(j)
			if err != nil {
				continue
			}
			if set, err := cc.StatsSet(); err != nil || !set {
				continue
			}
			ts, err := cc.Statistics()
			if err != nil || ts == nil {
				continue
			}
			cs := planner.ColumnStats{Name: name, HasNullCount: ts.HasNullCount(), NullCount: ts.NullCount()}
			cs.Min, cs.Max, cs.HasMinMax = minMax(ts, t)
			st.Columns = append(st.Columns, cs)
		}
		f.RowGroups = append(f.RowGroups, st)
	}
	return f, nil
}

// ReadColumns implements planner.FooterReader: the footer's columns, its
// row groups cut out before they are parsed (decode.ReadParquetColumns).
func (Footers) ReadColumns(ctx context.Context, store objstore.Store, key string, size int64) ([]schema.Column, error) {
	var sc *arrow.Schema
	err := readFooter(ctx, store, key, size, func(r *objstore.ObjectReader) (err error) {
		sc, err = decode.ReadParquetColumns(r, size, key)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cols := lastColumns.get(sc); cols != nil {
		return cols, nil
	}
	cols, err := columnsOf(key, sc)
	if err != nil {
		return nil, err
	}
	lastColumns.put(sc, cols)
	return slices.Clone(cols), nil
}

// readFooter runs read over ranged reads of key and tells whose failure it
// is: the store's (or the context's) is returned as it is and stops the
// plan; any other makes the file unreadable, for on_bad_record to decide.
func readFooter(ctx context.Context, store objstore.Store, key string, size int64, read func(*objstore.ObjectReader) error) error {
	rs := &readErrStore{Store: store}
	err := read(objstore.NewReaderAt(ctx, rs, key, size))
	if err == nil || rs.err != nil || ctx.Err() != nil {
		return err
	}
	return &planner.UnreadableError{Key: key, Err: err}
}

// columnsOf is a footer's schema as sluice's columns; a type sluice has no
// column type for makes the file unreadable.
func columnsOf(key string, sc *arrow.Schema) ([]schema.Column, error) {
	cols, err := arrowtype.FromArrowSchema(sc)
	if err != nil {
		return nil, &planner.UnreadableError{Key: key, Err: fmt.Errorf("%s: %w", key, err)}
	}
	return cols, nil
}

// lastColumns holds the columns of the last schema ReadColumns converted:
// decode.ReadParquetColumns hands back the same *arrow.Schema for files
// that share a schema, the usual case, and a wide one is costly to convert
// file after file.
var lastColumns columnsMemo

type columnsMemo struct {
	mu   sync.Mutex
	sc   *arrow.Schema
	cols []schema.Column
}

// get returns a copy of the columns of sc, or nil.
func (m *columnsMemo) get(sc *arrow.Schema) []schema.Column {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sc != sc {
		return nil
	}
	return slices.Clone(m.cols)
}

func (m *columnsMemo) put(sc *arrow.Schema, cols []schema.Column) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sc, m.cols = sc, cols
}

// minMax converts statistics to the predicate.Literal representation of
// the column's type. Types whose statistics order differs from the value
// order (decimals in byte arrays, unsigned integers, float16) report no
// min/max: pruning then keeps the row group.
func minMax(ts metadata.TypedStatistics, t schema.Type) (lo, hi any, ok bool) {
	if !ts.HasMinMax() {
		return nil, nil, false
	}
	switch s := ts.(type) {
	case *metadata.BooleanStatistics:
		if t.Kind == schema.Bool {
			return s.Min(), s.Max(), true
		}
	case *metadata.Int32Statistics:
		switch t.Kind {
		case schema.Date:
			return s.Min(), s.Max(), true
		case schema.Int32:
			if s.Descr().LogicalType().String() == "Int(bitWidth=32, isSigned=false)" {
				return nil, nil, false
			}
			return int64(s.Min()), int64(s.Max()), true
		}
	case *metadata.Int64Statistics:
		switch t.Kind {
		case schema.Int64, schema.Timestamp:
			if t.Kind == schema.Int64 && strings.Contains(s.Descr().LogicalType().String(), "isSigned=false") {
				return nil, nil, false
			}
			return s.Min(), s.Max(), true
		}
	case *metadata.Float32Statistics:
		if t.Kind == schema.Float32 || t.Kind == schema.Float64 {
			return float64(s.Min()), float64(s.Max()), true
		}
	case *metadata.Float64Statistics:
		if t.Kind == schema.Float64 {
			return s.Min(), s.Max(), true
		}
	case *metadata.ByteArrayStatistics:
		if t.Kind == schema.String {
			return string(s.Min()), string(s.Max()), true
		}
	}
	return nil, nil, false
}

// readErrStore remembers whether a ranged read failed, so that a footer
// the store could not deliver is not mistaken for a corrupt file.
type readErrStore struct {
	objstore.Store
	err error
}

func (s *readErrStore) GetRange(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	rc, err := s.Store.GetRange(ctx, key, off, n)
	if err != nil {
		s.err = err
		return nil, err
	}
	return &readErrBody{ReadCloser: rc, s: s}, nil
}

// readErrBody records a failure while a range's bytes stream in (a
// dropped connection, an object cut short since it was listed).
type readErrBody struct {
	io.ReadCloser
	s *readErrStore
}

func (b *readErrBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.s.err = err
	}
	return n, err
}

var _ planner.Sampler = Footers{}

// SampleText implements planner.Sampler: the first max bytes of key,
// decompressed (compression as the source says, auto by extension or
// magic bytes). The download stops there.
func (Footers) SampleText(ctx context.Context, store objstore.Store, key string, c spec.Compression, max int64) ([]byte, error) {
	rc, _, err := store.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	body, err := decode.Decompress(rc, key, c)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, max))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return data, nil
}
