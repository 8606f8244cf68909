package planner

import (
	"context"
	"math/big"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// FooterReader reads a Parquet file's footer. exec implements it over
// arrow-go; the planner never decodes Parquet itself. When the object's
// bytes were read but are not a usable footer (corrupt, truncated, not
// Parquet, a type sluice cannot map), the error is an *UnreadableError:
// the file is bad input, and on_bad_record decides. Any other error is
// the store's (unreachable, denied, vanished) and stops the plan.
type FooterReader interface {
	ReadFooter(ctx context.Context, store objstore.Store, key string, size int64) (Footer, error)
	// ReadColumns is ReadFooter without the row groups, for callers that
	// need the columns only: much cheaper on a wide file, whose footer is
	// mostly column chunk statistics. A footer whose row groups alone are
	// broken may give its columns; the executor refuses it when it reads
	// the file.
	ReadColumns(ctx context.Context, store objstore.Store, key string, size int64) ([]schema.Column, error)
}

// UnreadableError is a footer whose bytes were read but cannot be used.
type UnreadableError struct {
	Key string
	Err error
}

func (e *UnreadableError) Error() string { return e.Err.Error() }
func (e *UnreadableError) Unwrap() error { return e.Err }

// Footer is what the planner needs of a Parquet footer.
type Footer struct {
	Columns   []schema.Column
	RowGroups []RowGroupStats
}

// RowGroupStats describes one row group.
type RowGroupStats struct {
	Rows    int64
	Bytes   int64 // compressed size of its column chunks
	Columns []ColumnStats
}

// ColumnStats are one column chunk's statistics. Min and Max use the
// predicate.Literal value representation of the column's type (int64 for
// integers, float64, string, bool, int32 days for date, int64 in the unit
// for timestamps, *big.Int for decimals) and are meaningful only when
// HasMinMax; NullCount only when HasNullCount.
type ColumnStats struct {
	Name         string
	HasMinMax    bool
	Min, Max     any
	HasNullCount bool
	NullCount    int64
}

// column returns the stats of column name.
func (rg *RowGroupStats) column(name string) (ColumnStats, bool) {
	for _, c := range rg.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return ColumnStats{}, false
}

// statsEval decides e on a row group: triFalse only when no row of the group
// can satisfy e. Missing statistics give triUnknown, so a group is pruned
// only on proof.
func statsEval(e predicate.Expr, rg *RowGroupStats) tri {
	switch x := e.(type) {
	case *predicate.And:
		out := triTrue
		for _, a := range x.Args {
			switch statsEval(a, rg) {
			case triFalse:
				return triFalse
			case triUnknown:
				out = triUnknown
			}
		}
		return out
	case *predicate.Or:
		for _, a := range x.Args {
			if statsEval(a, rg) != triFalse {
				return triUnknown
			}
		}
		return triFalse
	case *predicate.IsNull:
		col, ok := unwrapCol(x.X)
		if !ok {
			return triUnknown
		}
		cs, ok := rg.column(col)
		if !ok || !cs.HasNullCount {
			return triUnknown
		}
		if !x.Negated && cs.NullCount == 0 {
			return triFalse // IS NULL, and there are no nulls
		}
		if x.Negated && cs.NullCount == rg.Rows {
			return triFalse // IS NOT NULL, and everything is null
		}
		return triUnknown
	case *predicate.In:
		col, ok := unwrapCol(x.X)
		if !ok || x.Negated {
			return triUnknown
		}
		cs, ok := rg.column(col)
		if !ok || !cs.HasMinMax {
			return triUnknown
		}
		for _, l := range x.List {
			lo, ok1 := compareValues(l.Value, cs.Min)
			hi, ok2 := compareValues(l.Value, cs.Max)
			if !ok1 || !ok2 || (lo >= 0 && hi <= 0) {
				return triUnknown
			}
		}
		return triFalse
	case *predicate.Compare:
		col, lit, ok := colLit(x)
		if !ok {
			return triUnknown
		}
		op := x.Op
		if _, litLeft := unwrapLit(x.L); litLeft {
			op = op.Mirror()
		}
		cs, ok := rg.column(col)
		if !ok || !cs.HasMinMax {
			return triUnknown
		}
		cMin, ok1 := compareValues(cs.Min, lit) // sign of min - lit
		cMax, ok2 := compareValues(cs.Max, lit)
		if !ok1 || !ok2 {
			return triUnknown
		}
		var impossible bool
		switch op {
		case predicate.Eq:
			impossible = cMin > 0 || cMax < 0
		case predicate.Ne:
			impossible = cMin == 0 && cMax == 0
		case predicate.Lt:
			impossible = cMin >= 0
		case predicate.Le:
			impossible = cMin > 0
		case predicate.Gt:
			impossible = cMax <= 0
		case predicate.Ge:
			impossible = cMax < 0
		}
		if impossible {
			return triFalse
		}
	}
	return triUnknown
}

// unwrapCol returns the column under order-preserving casts (int → int64,
// int → float64 keep the order of values, so min/max still bound them).
func unwrapCol(e predicate.Expr) (string, bool) {
	for {
		switch x := e.(type) {
		case *predicate.ColumnRef:
			if x.Partition || len(x.Path) > 0 {
				// Footer statistics are kept for top-level columns only:
				// a nested field (payload.user.id) has none to prune by.
				return "", false
			}
			return x.Name, true
		case *predicate.Cast:
			e = x.X
		default:
			return "", false
		}
	}
}

func unwrapLit(e predicate.Expr) (any, bool) {
	if l, ok := e.(*predicate.Literal); ok {
		return l.Value, l.Value != nil
	}
	return nil, false
}

// colLit splits a column-vs-literal comparison.
func colLit(c *predicate.Compare) (string, any, bool) {
	if col, ok := unwrapCol(c.L); ok {
		if v, ok := unwrapLit(c.R); ok {
			return col, v, true
		}
	}
	if col, ok := unwrapCol(c.R); ok {
		if v, ok := unwrapLit(c.L); ok {
			return col, v, true
		}
	}
	return "", nil, false
}

// compareValues orders two values of the literal representation; numeric
// kinds compare across int/float. ok is false for incomparable values.
func compareValues(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			switch {
			case x < y:
				return -1, true
			case x > y:
				return 1, true
			}
			return 0, true
		}
	case bool:
		if y, ok := b.(bool); ok {
			switch {
			case x == y:
				return 0, true
			case !x:
				return -1, true
			}
			return 1, true
		}
	case *big.Int:
		if y, ok := b.(*big.Int); ok {
			return x.Cmp(y), true
		}
	}
	fa, aok := asFloat(a)
	fb, bok := asFloat(b)
	if !aok || !bok {
		return 0, false
	}
	ia, aInt := predicate.IntValue(a)
	ib, bInt := predicate.IntValue(b)
	if aInt && bInt {
		switch {
		case ia < ib:
			return -1, true
		case ia > ib:
			return 1, true
		}
		return 0, true
	}
	if fa != fa || fb != fb { // NaN orders nowhere
		return 0, false
	}
	switch {
	case fa < fb:
		return -1, true
	case fa > fb:
		return 1, true
	}
	return 0, true
}

func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	if i, ok := predicate.IntValue(v); ok {
		return float64(i), true
	}
	return 0, false
}
