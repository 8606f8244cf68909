package exec

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
)

// setExplode makes the projection explode output column name: pre keeps
// the list type, out takes the element type.
func (p *projection) setExplode(name string) error {
	for i, c := range p.cols {
		if c.name != name {
			continue
		}
		lt, ok := c.field.Type.(*arrow.ListType)
		if !ok {
			return fmt.Errorf("explode %s: the column is %s, not a list", name, c.field.Type)
		}
		fields := append([]arrow.Field(nil), p.out.Fields()...)
		fields[i] = arrow.Field{Name: name, Type: lt.Elem(), Nullable: true}
		p.explode, p.pre, p.out = i, p.out, arrow.NewSchema(fields, nil)
		return nil
	}
	return fmt.Errorf("explode %s: no such output column", name)
}

// explodeBatch returns b with list column col replaced by its elements,
// one row per element in order, the other columns repeated (provenance
// columns included, so a row of an exploded list still names its object
// and row). A null or empty list gives no row; a null element gives a row
// with a null. out is the result's schema. b is not consumed.
func explodeBatch(ctx context.Context, b arrow.RecordBatch, col int, out *arrow.Schema) (arrow.RecordBatch, error) {
	lists, ok := b.Column(col).(*array.List)
	if !ok {
		return nil, fmt.Errorf("explode %s: column is %s, not a list", out.Field(col).Name, b.Column(col).DataType())
	}
	mem := compute.GetAllocator(ctx)
	rowIdx, elemIdx := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
	defer rowIdx.Release()
	defer elemIdx.Release()
	for r := 0; r < lists.Len(); r++ {
		if lists.IsNull(r) {
			continue
		}
		start, end := lists.ValueOffsets(r) // the array's slice offset applied
		for e := start; e < end; e++ {
			rowIdx.Append(int64(r))
			elemIdx.Append(e)
		}
	}
	rows, elems := rowIdx.NewInt64Array(), elemIdx.NewInt64Array()
	defer rows.Release()
	defer elems.Release()
	n := int64(rows.Len())
	cols := make([]arrow.Array, b.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i := range cols {
		var err error
		if i == col {
			cols[i], err = compute.TakeArray(ctx, lists.ListValues(), elems)
		} else {
			cols[i], err = compute.TakeArray(ctx, b.Column(i), rows)
		}
		if err != nil {
			return nil, fmt.Errorf("explode %s: %w", out.Field(col).Name, err)
		}
	}
	return array.NewRecordBatch(out, cols, n), nil
}
