package decode

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A minimal reader and writer of Thrift's compact protocol, the encoding of Parquet's
// footer and page headers. arrow-go's own Thrift types are internal to its
// module, and the page checks (pagecheck.go) need to read a page header
// before arrow-go does: that is when a header that lies about its sizes can
// still be refused without anything having been allocated for it.
//
// It decodes into a generic tree (tval); every container size is checked
// against the bytes left before anything is allocated for it, so a header
// cannot make the reader itself allocate more than its own length. The
// writer re-encodes a tree: footers arrow-go cannot parse are repaired with
// it (repairFooter), and the tests make lying files with it.

// Compact protocol type ids.
const (
	tStop    = 0
	tTrue    = 1
	tFalse   = 2
	tByte    = 3
	tI16     = 4
	tI32     = 5
	tI64     = 6
	tDouble  = 7
	tBinary  = 8
	tList    = 9
	tSet     = 10
	tMap     = 11
	tStruct  = 12
	maxTDeep = 64 // nesting limit: Parquet's structures are a few levels deep
)

var errThrift = errors.New("malformed thrift")

// tval is one decoded value.
type tval struct {
	typ    byte
	i      int64    // bool (1/0), byte, i16, i32, i64
	b      []byte   // binary; a double's 8 bytes
	elem   byte     // list/set element type; map key type
	elem2  byte     // map value type
	list   []tval   // list/set elements; a map's keys and values, alternating
	fields []tfield // struct fields, in the order read
}

type tfield struct {
	id int16
	v  tval
}

// field returns the struct field id, or nil.
func (v *tval) field(id int16) *tval {
	for i := range v.fields {
		if v.fields[i].id == id {
			return &v.fields[i].v
		}
	}
	return nil
}

// int returns struct field id as an integer, and whether it is set.
func (v *tval) int(id int16) (int64, bool) {
	f := v.field(id)
	if f == nil {
		return 0, false
	}
	switch f.typ {
	case tByte, tI16, tI32, tI64, tTrue, tFalse:
		return f.i, true
	}
	return 0, false
}

type tdecoder struct {
	b   []byte
	off int
}

// readThriftStruct decodes one struct from the start of b and returns it
// with the number of bytes it took.
func readThriftStruct(b []byte) (tval, int, error) {
	d := tdecoder{b: b}
	v, err := d.value(tStruct, 0)
	if err != nil {
		return tval{}, 0, err
	}
	return v, d.off, nil
}

func (d *tdecoder) byte() (byte, error) {
	if d.off >= len(d.b) {
		return 0, errThrift
	}
	c := d.b[d.off]
	d.off++
	return c, nil
}

func (d *tdecoder) uvarint() (uint64, error) {
	x, n := binary.Uvarint(d.b[d.off:])
	if n <= 0 {
		return 0, errThrift
	}
	d.off += n
	return x, nil
}

func (d *tdecoder) zigzag() (int64, error) {
	u, err := d.uvarint()
	return int64(u>>1) ^ -int64(u&1), err
}

// size reads a container or binary length, which cannot exceed the bytes
// left (every element takes at least one byte).
func (d *tdecoder) size() (int, error) {
	u, err := d.uvarint()
	if err != nil {
		return 0, err
	}
	if u > uint64(len(d.b)-d.off) {
		return 0, fmt.Errorf("%w: length %d past the end of its %d bytes", errThrift, u, len(d.b))
	}
	return int(u), nil
}

func (d *tdecoder) value(typ byte, depth int) (tval, error) {
	v := tval{typ: typ}
	var err error
	switch typ {
	case tTrue:
		v.i = 1
	case tFalse:
	case tByte:
		var c byte
		c, err = d.byte()
		v.i = int64(int8(c))
	case tI16, tI32, tI64:
		v.i, err = d.zigzag()
	case tDouble:
		if len(d.b)-d.off < 8 {
			return v, errThrift
		}
		v.b = d.b[d.off : d.off+8]
		d.off += 8
	case tBinary:
		var n int
		if n, err = d.size(); err == nil {
			v.b = d.b[d.off : d.off+n]
			d.off += n
		}
	case tList, tSet:
		if depth >= maxTDeep {
			return v, errThrift
		}
		var h byte
		if h, err = d.byte(); err != nil {
			return v, err
		}
		n := int(h >> 4)
		v.elem = h & 0x0f
		if n == 15 {
			if n, err = d.size(); err != nil {
				return v, err
			}
		} else if n > len(d.b)-d.off {
			return v, errThrift
		}
		v.list = make([]tval, 0, n)
		for range n {
			et := v.elem
			if et == tTrue || et == tFalse {
				// A bool inside a container is a byte of its own.
				var c byte
				if c, err = d.byte(); err != nil {
					return v, err
				}
				e := tval{typ: tTrue, i: 1}
				if c != tTrue {
					e = tval{typ: tFalse}
				}
				v.list = append(v.list, e)
				continue
			}
			e, err := d.value(et, depth+1)
			if err != nil {
				return v, err
			}
			v.list = append(v.list, e)
		}
	case tMap:
		if depth >= maxTDeep {
			return v, errThrift
		}
		var n int
		if n, err = d.size(); err != nil || n == 0 {
			return v, err
		}
		var h byte
		if h, err = d.byte(); err != nil {
			return v, err
		}
		v.elem, v.elem2 = h>>4, h&0x0f
		v.list = make([]tval, 0, 2*n)
		for range n {
			k, err := d.value(v.elem, depth+1)
			if err != nil {
				return v, err
			}
			x, err := d.value(v.elem2, depth+1)
			if err != nil {
				return v, err
			}
			v.list = append(v.list, k, x)
		}
	case tStruct:
		if depth >= maxTDeep {
			return v, errThrift
		}
		var last int16
		for {
			id, ft, err := d.fieldHeader(last)
			if err != nil {
				return v, err
			}
			if ft == tStop {
				return v, nil
			}
			last = id
			f, err := d.value(ft, depth+1)
			if err != nil {
				return v, err
			}
			v.fields = append(v.fields, tfield{id: id, v: f})
		}
	default:
		return v, fmt.Errorf("%w: unknown type %d", errThrift, typ)
	}
	return v, err
}

// skip moves past one value of type typ without building it (see
// fileMetaDataWithoutRowGroups). Its checks are value's.
func (d *tdecoder) skip(typ byte, depth int) error {
	if depth >= maxTDeep {
		return errThrift
	}
	switch typ {
	case tTrue, tFalse:
		return nil // a struct field's bool is in its header
	case tByte:
		_, err := d.byte()
		return err
	case tI16, tI32, tI64:
		_, err := d.uvarint()
		return err
	case tDouble:
		return d.advance(8)
	case tBinary:
		n, err := d.size()
		if err != nil {
			return err
		}
		return d.advance(n)
	case tList, tSet:
		h, err := d.byte()
		if err != nil {
			return err
		}
		n, elem := int(h>>4), h&0x0f
		if n == 15 {
			if n, err = d.size(); err != nil {
				return err
			}
		} else if n > len(d.b)-d.off {
			return errThrift
		}
		for range n {
			if err := d.skipElem(elem, depth); err != nil {
				return err
			}
		}
		return nil
	case tMap:
		n, err := d.size()
		if err != nil || n == 0 {
			return err
		}
		h, err := d.byte()
		if err != nil {
			return err
		}
		for range n {
			if err := d.skipElem(h>>4, depth); err != nil {
				return err
			}
			if err := d.skipElem(h&0x0f, depth); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		var last int16
		for {
			id, ft, err := d.fieldHeader(last)
			if err != nil || ft == tStop {
				return err
			}
			last = id
			if err := d.skip(ft, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("%w: unknown type %d", errThrift, typ)
}

// skipElem skips a container element: there a bool is a byte of its own.
func (d *tdecoder) skipElem(typ byte, depth int) error {
	if typ == tTrue || typ == tFalse {
		_, err := d.byte()
		return err
	}
	return d.skip(typ, depth+1)
}

// fieldHeader reads a struct field header after field last: the field's
// id and type, tStop at the struct's end.
func (d *tdecoder) fieldHeader(last int16) (id int16, typ byte, err error) {
	h, err := d.byte()
	if err != nil || h == tStop {
		return 0, tStop, err
	}
	if h>>4 == 0 {
		x, err := d.zigzag()
		return int16(x), h & 0x0f, err
	}
	return last + int16(h>>4), h & 0x0f, nil
}

func (d *tdecoder) advance(n int) error {
	if n > len(d.b)-d.off {
		return errThrift
	}
	d.off += n
	return nil
}

func putZigzag(dst []byte, x int64) []byte {
	return binary.AppendUvarint(dst, uint64(x<<1)^uint64(x>>63))
}

// encode appends v's compact-protocol encoding (without a field header).
func (v *tval) encode(dst []byte) []byte {
	switch v.typ {
	case tTrue, tFalse:
		return dst // a struct field's bool is in its header
	case tByte:
		return append(dst, byte(v.i))
	case tI16, tI32, tI64:
		return putZigzag(dst, v.i)
	case tDouble:
		return append(dst, v.b...)
	case tBinary:
		dst = binary.AppendUvarint(dst, uint64(len(v.b)))
		return append(dst, v.b...)
	case tList, tSet:
		if n := len(v.list); n < 15 {
			dst = append(dst, byte(n<<4)|v.elem)
		} else {
			dst = append(dst, 0xf0|v.elem)
			dst = binary.AppendUvarint(dst, uint64(n))
		}
		for i := range v.list {
			if v.elem == tTrue || v.elem == tFalse {
				b := byte(tFalse)
				if v.list[i].i != 0 {
					b = tTrue
				}
				dst = append(dst, b)
				continue
			}
			dst = v.list[i].encode(dst)
		}
		return dst
	case tMap:
		n := len(v.list) / 2
		dst = binary.AppendUvarint(dst, uint64(n))
		if n == 0 {
			return dst
		}
		dst = append(dst, v.elem<<4|v.elem2)
		for i := range v.list {
			dst = v.list[i].encode(dst)
		}
		return dst
	case tStruct:
		var last int16
		for _, f := range v.fields {
			typ := f.v.typ
			if typ == tTrue || typ == tFalse {
				typ = tFalse
				if f.v.i != 0 {
					typ = tTrue
				}
			}
			if d := f.id - last; d > 0 && d <= 15 {
				dst = append(dst, byte(d<<4)|typ)
			} else {
				dst = append(dst, typ)
				dst = putZigzag(dst, int64(f.id))
			}
			last = f.id
			dst = f.v.encode(dst)
		}
		return append(dst, tStop)
	}
	return dst // not produced by the decoder
}
