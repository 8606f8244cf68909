package eval

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// fieldNode reads field idx of a struct-valued node: payload.user.id is
// fieldNode(fieldNode(column payload, user), id). A row whose struct is
// null is null in the field too, whatever the child array holds there
// (Arrow leaves a null struct's children undefined).
type fieldNode struct {
	x    node
	idx  int
	name string
	dt   arrow.DataType
}

func (f *fieldNode) dataType() arrow.DataType { return f.dt }

func (f *fieldNode) eval(ec *evalCtx) (arrow.Array, error) {
	arr, err := f.x.eval(ec)
	if err != nil {
		return nil, err
	}
	defer arr.Release()
	s, ok := arr.(*array.Struct)
	if !ok {
		return nil, fmt.Errorf("field %q: %s is not a struct array", f.name, arr.DataType())
	}
	return structField(ec.mem, s, f.idx), nil
}

// structField returns field i of s with s's nulls folded into its
// validity. The caller releases the result.
func structField(mem memory.Allocator, s *array.Struct, i int) arrow.Array {
	child := s.Field(i)
	if s.NullN() == 0 {
		child.Retain()
		return child
	}
	n := s.Len()
	cd := child.Data()
	off := cd.Offset()
	// The new bitmap is indexed like the child's (from its offset), so the
	// value buffers are shared unchanged.
	buf := newBuf(mem, int(bitutil.BytesForBits(int64(off+n))))
	bm := buf.Bytes()
	pv, poff := validityOf(s)
	cv, coff := validityOf(child)
	for r := 0; r < n; r++ {
		if bitAt(pv, poff+r) && (cv == nil || bitAt(cv, coff+r)) {
			bitutil.SetBit(bm, off+r)
		}
	}
	bufs := append([]*memory.Buffer{buf}, cd.Buffers()[1:]...)
	d := array.NewData(cd.DataType(), n, bufs, cd.Children(), array.UnknownNullCount, off)
	buf.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// nestedColumn compiles a reference to a field nested in a struct column.
func (c *compiler) nestedColumn(e *predicate.ColumnRef) (node, error) {
	top, err := c.resolve(e.Name)
	if err != nil {
		return nil, err
	}
	var n node = top
	parent := e.Name
	for _, name := range e.Path {
		st, ok := n.dataType().(*arrow.StructType)
		if !ok {
			return nil, fmt.Errorf("%s: %s is %s in the batch, not a struct", e, parent, n.dataType())
		}
		j, ok := st.FieldIdx(name)
		if !ok {
			return nil, fmt.Errorf("%s: struct %s in the batch has no field %q (%s)", e, parent, name, st)
		}
		n = &fieldNode{x: n, idx: j, name: name, dt: st.Field(j).Type}
		parent += "." + name
	}
	if !columnTypeOK(e.ColType, n.dataType()) {
		return nil, fmt.Errorf("%s: batch type %s does not hold predicate type %s", e, n.dataType(), e.ColType)
	}
	return n, nil
}

// nestedTypeOK is columnTypeOK for list, struct and map types: the same
// shape, field names in order, element types holding theirs.
func nestedTypeOK(t schema.Type, dt arrow.DataType) bool {
	switch t.Kind {
	case schema.List:
		l, ok := dt.(*arrow.ListType)
		return ok && t.Elem != nil && columnTypeOK(*t.Elem, l.Elem())
	case schema.Struct:
		s, ok := dt.(*arrow.StructType)
		if !ok || s.NumFields() != len(t.Fields) {
			return false
		}
		for i, f := range t.Fields {
			if s.Field(i).Name != f.Name || !columnTypeOK(f.Type, s.Field(i).Type) {
				return false
			}
		}
		return true
	case schema.Map:
		m, ok := dt.(*arrow.MapType)
		return ok && t.Key != nil && t.Elem != nil && columnTypeOK(*t.Key, m.KeyType()) && columnTypeOK(*t.Elem, m.ItemType())
	}
	return false
}
