package decode

import (
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// Rescue configures the rescued data column of a JSON or CSV source
// (rescued_data_column): instead of dropping the fields the schema does
// not declare, and instead of failing a record whose field does not parse
// as its declared type, the decoder keeps the record and puts those fields
// in one string column, as a JSON object of key → raw value.
type Rescue struct {
	// Column is the rescued data column. It is filled when it is in
	// Options.Schema; when projection left it out, a field that does not
	// parse is still null instead of a bad record (the semantics do not
	// depend on what the pipeline reads), but nothing is collected.
	Column string
	// Known are the columns the source declares (the partition keys
	// included). A JSON key or CSV header name outside them is rescued.
	Known []string
}

// rescuer builds one record's rescued data.
type rescuer struct {
	col     int // the rescued column's index in the schema; -1: not decoded
	known   map[string]bool
	buf     []byte // `{"k":v,...` so far
	n       int    // fields in buf
	collect bool
}

// newRescuer returns nil when o has no Rescue.
func newRescuer(o *Options, cols []*column) *rescuer {
	if o.Rescue == nil {
		return nil
	}
	r := &rescuer{col: -1, known: map[string]bool{}}
	for _, k := range o.Rescue.Known {
		r.known[k] = true
	}
	for i, c := range cols {
		if c.name == o.Rescue.Column {
			r.col = i
		}
	}
	r.collect = r.col >= 0
	return r
}

func (r *rescuer) reset() { r.buf, r.n = r.buf[:0], 0 }

// unknown reports whether key is to be rescued as a field the schema does
// not declare.
func (r *rescuer) unknown(key []byte) bool { return r.collect && !r.known[string(key)] }

func (r *rescuer) key(k string) {
	if r.n == 0 {
		r.buf = append(r.buf, '{')
	} else {
		r.buf = append(r.buf, ',')
	}
	r.n++
	r.buf = appendJSONText(r.buf, []byte(k))
	r.buf = append(r.buf, ':')
}

// raw adds a field whose value is JSON text already (a JSON source's).
func (r *rescuer) raw(k string, v []byte) {
	if !r.collect {
		return
	}
	r.key(k)
	r.buf = append(r.buf, v...)
}

// text adds a field whose value is text (a CSV field): a JSON string.
func (r *rescuer) text(k string, v []byte) {
	if !r.collect {
		return
	}
	r.key(k)
	r.buf = appendJSONText(r.buf, v)
}

// appendTo appends the record's rescued data to b: null when nothing was
// rescued.
func (r *rescuer) appendTo(b array.Builder) {
	sb := b.(*array.StringBuilder)
	if r.n == 0 {
		sb.AppendNull()
		return
	}
	sb.BinaryBuilder.Append(append(r.buf, '}'))
}

// appendJSONText appends s as a JSON string; invalid UTF-8 becomes U+FFFD,
// so the column always holds valid JSON.
func appendJSONText(dst, s []byte) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c < 0x20:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n == 1 {
			dst = append(dst, "\ufffd"...)
		} else {
			dst = append(dst, s[i:i+n]...)
		}
		i += n
	}
	return append(dst, '"')
}
