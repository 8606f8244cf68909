package decode

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Legacy two-level lists whose element is itself a list:
//
//	optional group a (LIST) {
//	  repeated group array (LIST) {
//	    repeated int32 array;
//	  }
//	}
//
// By the format's backward-compatibility rules the repeated group is the
// element, and being annotated LIST it is a list: a is list<list<int32>>, as
// DuckDB and Spark read it. pqarrow ignores the inner annotation and makes
// the element a struct of one field, list<struct<array: list<int32>>>, so
// sluice read, and wrote back, another shape (parquet-testing's
// old_list_structure.parquet). Such elements are unwrapped here, in the
// schema the planner sees (readableSchema) and in the arrays the reader
// returns (fixLegacyData).

func isListNode(n schema.Node) bool {
	_, ok := n.LogicalType().(schema.ListLogicalType)
	return ok || n.ConvertedType() == schema.ConvertedTypes.List
}

// legacyListElements returns the paths (names joined by ".", which are also
// the names pqarrow gives the Arrow fields) of the repeated LIST-annotated
// groups that are the only child of a LIST-annotated group; nil if none.
func legacyListElements(md *metadata.FileMetaData) map[string]bool {
	var out map[string]bool
	var walk func(g *schema.GroupNode, path string)
	walk = func(g *schema.GroupNode, path string) {
		for i := range g.NumFields() {
			child, ok := g.Field(i).(*schema.GroupNode)
			if !ok {
				continue
			}
			p := child.Name()
			if path != "" {
				p = path + "." + p
			}
			if isListNode(g) && g.NumFields() == 1 && child.RepetitionType() == parquet.Repetitions.Repeated && isListNode(child) && child.NumFields() == 1 {
				if out == nil {
					out = map[string]bool{}
				}
				out[p] = true
			}
			walk(child, p)
		}
	}
	walk(md.Schema.Root(), "")
	return out
}

// fixLegacyType is t, the Arrow type pqarrow gives the field at path, with
// the one-field structs standing for the elements in legacy unwrapped.
func fixLegacyType(t arrow.DataType, path string, legacy map[string]bool) arrow.DataType {
	switch x := t.(type) {
	case *arrow.ListType:
		ef := x.ElemField()
		p := path + "." + ef.Name
		if st, ok := ef.Type.(*arrow.StructType); ok && legacy[p] && st.NumFields() == 1 {
			inner := st.Field(0)
			ef.Type = fixLegacyType(inner.Type, p+"."+inner.Name, legacy)
		} else {
			ef.Type = fixLegacyType(ef.Type, p, legacy)
		}
		return arrow.ListOfField(ef)
	case *arrow.MapType:
		p := path + "." + x.ElemField().Name
		kf, vf := x.KeyField(), x.ItemField()
		kf.Type = fixLegacyType(kf.Type, p+"."+kf.Name, legacy)
		vf.Type = fixLegacyType(vf.Type, p+"."+vf.Name, legacy)
		return arrow.MapOfFields(kf, vf)
	case *arrow.StructType:
		fs := x.Fields()
		for i := range fs {
			fs[i].Type = fixLegacyType(fs[i].Type, path+"."+fs[i].Name, legacy)
		}
		return arrow.StructOf(fs...)
	}
	return t
}

// fixLegacyData is d, an array of pqarrow's type, as an array of want (its
// fixLegacyType): a list whose element is such a struct takes the struct's
// only child, sliced as the struct was, as its element. The struct stands
// for a repeated group, so it has no nulls to lose.
func fixLegacyData(d arrow.ArrayData, want arrow.DataType) arrow.ArrayData {
	if arrow.TypeEqual(d.DataType(), want) {
		d.Retain()
		return d
	}
	var children []arrow.ArrayData
	switch w := want.(type) {
	case *arrow.ListType:
		c := d.Children()[0]
		if st, ok := c.DataType().(*arrow.StructType); ok && st.NumFields() == 1 && w.Elem().ID() != arrow.STRUCT {
			inner := array.NewSliceData(c.Children()[0], int64(c.Offset()), int64(c.Offset()+c.Len()))
			children = []arrow.ArrayData{fixLegacyData(inner, w.Elem())}
			inner.Release()
		} else {
			children = []arrow.ArrayData{fixLegacyData(c, w.Elem())}
		}
	case *arrow.MapType:
		children = []arrow.ArrayData{fixLegacyData(d.Children()[0], w.Elem())}
	case *arrow.StructType:
		for i, c := range d.Children() {
			children = append(children, fixLegacyData(c, w.Field(i).Type))
		}
	default:
		d.Retain()
		return d
	}
	defer releaseData(children)
	return array.NewData(want, d.Len(), d.Buffers(), children, d.NullN(), d.Offset())
}
