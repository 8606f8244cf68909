package decode

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// Maps whose keys the file declares optional. The format requires MAP keys
// to be required; Presto wrote them optional (parquet-testing's
// incorrect_map_schema.parquet), and arrow-go refuses the schema ("MAP keys
// must be required") where DuckDB reads the map. arrow-go is given a footer
// in which such a map is a LIST of its key-value groups (the same levels,
// so the same data), which it reads as a list of struct<key, value>; the
// reader turns that back into a map. An entry whose key is null (which a
// map cannot hold) is a bad record of its row.

func isMapNode(n schema.Node) bool {
	_, ok := n.LogicalType().(schema.MapLogicalType)
	return ok || n.ConvertedType() == schema.ConvertedTypes.Map || n.ConvertedType() == schema.ConvertedTypes.MapKeyValue
}

// optionalKeyMaps returns the paths (as pqarrow names the Arrow fields) of
// the MAP groups of md whose keys are optional, or nil.
func optionalKeyMaps(md *metadata.FileMetaData) map[string]bool {
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
			if isMapNode(child) && child.NumFields() == 1 {
				if kv, ok := child.Field(0).(*schema.GroupNode); ok && kv.NumFields() == 2 && kv.Field(0).RepetitionType() == parquet.Repetitions.Optional {
					if out == nil {
						out = map[string]bool{}
					}
					out[p] = true
				}
			}
			walk(child, p)
		}
	}
	walk(md.Schema.Root(), "")
	return out
}

// mapsAsLists returns md with its MAP groups whose keys are optional
// annotated LIST instead (and their key-value groups not annotated).
func mapsAsLists(ctx context.Context, md *metadata.FileMetaData) (*metadata.FileMetaData, error) {
	raw, err := md.Serialize(ctx)
	if err != nil {
		return nil, err
	}
	fm, _, err := readThriftStruct(raw)
	if err != nil {
		return nil, err
	}
	se := fm.field(fmSchema)
	if se == nil {
		return nil, fmt.Errorf("footer without a schema")
	}
	els := se.list
	// SchemaElement fields: 3 repetition_type, 5 num_children,
	// 6 converted_type, 10 logicalType. Children follow their group.
	const convMap, convMapKeyValue, convList, repOptional = 1, 2, 3, 1
	var walk func(i int) int // returns the index after the subtree at i
	walk = func(i int) int {
		if i >= len(els) {
			return i
		}
		n, _ := els[i].int(5)
		conv, hasConv := els[i].int(6)
		lt := els[i].field(seLogicalType)
		isMap := hasConv && (conv == convMap || conv == convMapKeyValue) || lt != nil && lt.field(2) != nil
		if isMap && n == 1 && i+1 < len(els) {
			kv := &els[i+1]
			kn, _ := kv.int(5)
			if kn == 2 && i+2 < len(els) {
				if rep, _ := els[i+2].int(3); rep == repOptional {
					if hasConv {
						els[i].field(6).i = convList
					}
					if lt != nil {
						*lt = tval{typ: tStruct, fields: []tfield{{id: 3, v: tval{typ: tStruct}}}}
					}
					kept := kv.fields[:0]
					for _, f := range kv.fields {
						if f.id != 6 {
							kept = append(kept, f)
						}
					}
					kv.fields = kept
				}
			}
		}
		j := i + 1
		for range n {
			j = walk(j)
		}
		return j
	}
	walk(0)
	out, err := metadata.NewFileMetaData(fm.encode(nil), nil)
	if err != nil {
		return nil, err
	}
	out.SetSourceFileSize(md.GetSourceFileSize())
	return out, nil
}

// listsAsMaps is t, the type pqarrow gives the field at path of a file
// read through mapsAsLists, with the lists standing for maps made maps again.
func listsAsMaps(t arrow.DataType, path string, maps map[string]bool) arrow.DataType {
	switch x := t.(type) {
	case *arrow.ListType:
		ef := x.ElemField()
		if st, ok := ef.Type.(*arrow.StructType); ok && maps[path] && st.NumFields() == 2 {
			p := path + "." + ef.Name
			k, v := st.Field(0), st.Field(1)
			k.Type = listsAsMaps(k.Type, p+"."+k.Name, maps)
			k.Nullable = false
			v.Type = listsAsMaps(v.Type, p+"."+v.Name, maps)
			return arrow.MapOfFields(k, v)
		}
		ef.Type = listsAsMaps(ef.Type, path+"."+ef.Name, maps)
		return arrow.ListOfField(ef)
	case *arrow.MapType:
		p := path + "." + x.ElemField().Name
		kf, vf := x.KeyField(), x.ItemField()
		kf.Type = listsAsMaps(kf.Type, p+"."+kf.Name, maps)
		vf.Type = listsAsMaps(vf.Type, p+"."+vf.Name, maps)
		return arrow.MapOfFields(kf, vf)
	case *arrow.StructType:
		fs := x.Fields()
		for i := range fs {
			fs[i].Type = listsAsMaps(fs[i].Type, path+"."+fs[i].Name, maps)
		}
		return arrow.StructOf(fs...)
	}
	return t
}

// listsToMapData is d, an array of pqarrow's type, as an array of want (its
// listsAsMaps): a map takes the list's buffers and entries as they are. It
// also returns, per logical index of d, why the value cannot be a map (a
// null key), or "".
func listsToMapData(d arrow.ArrayData, want arrow.DataType) (arrow.ArrayData, []string) {
	if arrow.TypeEqual(d.DataType(), want) {
		d.Retain()
		return d, nil
	}
	var children []arrow.ArrayData
	var bad []string
	mark := func(parent int, cbad []string, lo, hi int) {
		for j := lo; j < hi && j < len(cbad); j++ {
			if cbad[j] != "" {
				if bad == nil {
					bad = make([]string, d.Len())
				}
				if bad[parent] == "" {
					bad[parent] = cbad[j]
				}
				return
			}
		}
	}
	offsets := func() []int32 {
		return arrow.Int32Traits.CastFromBytes(d.Buffers()[1].Bytes())[d.Offset():]
	}
	switch w := want.(type) {
	case *arrow.MapType:
		entries := d.Children()[0]
		var cbad []string
		if d.DataType().ID() == arrow.LIST {
			// The key-value structs: a null key cannot be a map's.
			keys := entries.Children()[0]
			if keys.NullN() > 0 {
				ka := array.MakeFromData(keys)
				cbad = make([]string, entries.Len())
				for j := range entries.Len() {
					if ka.IsNull(entries.Offset() + j) {
						cbad[j] = "a map entry with a null key (the file declares its keys optional, which the format does not allow)"
					}
				}
				ka.Release()
			}
		}
		c, ebad := listsToMapData(entries, w.Elem())
		children = []arrow.ArrayData{c}
		for _, b := range [][]string{cbad, ebad} {
			if b != nil {
				offs := offsets()
				for i := range d.Len() {
					mark(i, b, int(offs[i]), int(offs[i+1]))
				}
			}
		}
	case *arrow.ListType:
		c, cbad := listsToMapData(d.Children()[0], w.Elem())
		children = []arrow.ArrayData{c}
		if cbad != nil {
			offs := offsets()
			for i := range d.Len() {
				mark(i, cbad, int(offs[i]), int(offs[i+1]))
			}
		}
	case *arrow.StructType:
		for i, cd := range d.Children() {
			c, cbad := listsToMapData(cd, w.Field(i).Type)
			children = append(children, c)
			for j := range d.Len() {
				mark(j, cbad, d.Offset()+j, d.Offset()+j+1)
			}
		}
	default:
		d.Retain()
		return d, nil
	}
	defer releaseData(children)
	return array.NewData(want, d.Len(), d.Buffers(), children, d.NullN(), d.Offset()), bad
}
