package decode

// Nested projection in the JSON reader: a struct column whose declared
// type names only some of an object's fields (the planner prunes it to
// the fields a pipeline reads) is cut down to those fields in its raw text
// before fastjson parses it, so an unused subtree is skipped by the
// scanner (a validating byte scan) and never built as a tree.

// pruneMaxIdle is how many values of a column may go by with nothing to
// cut before pruning stops for that column: when the declared struct
// holds every field the data has, the cut is a second scan for nothing.
const pruneMaxIdle = 64

// pruner cuts one struct column's raw values.
type pruner struct {
	buf  []byte
	key  []byte
	idle int // values in a row with nothing cut
	off  bool
}

// prune returns raw (a struct column's validated JSON value) with only
// the keys c declares, recursively through struct fields; raw itself when
// nothing was cut, pruning is off, or raw is not an object.
func (p *pruner) prune(c *conv, raw []byte) []byte {
	if p.off || len(raw) == 0 || raw[0] != '{' {
		return raw
	}
	out, cut, ok := pruneObject(c, raw, p.buf[:0], &p.key)
	if !ok || !cut {
		p.idle++
		if p.idle >= pruneMaxIdle {
			p.off = true
		}
		return raw
	}
	p.idle = 0
	p.buf = out
	return out
}

// pruneObject appends the object at s[0:] with only c's keys to dst. cut
// reports whether a key was left out; ok is false when s does not scan
// (it was validated before, so this does not happen; the caller then
// parses s as it is).
func pruneObject(c *conv, s, dst []byte, keyBuf *[]byte) (out []byte, cut, ok bool) {
	dst = append(dst, '{')
	i := skipWS(s, 1)
	if i < len(s) && s[i] == '}' {
		return append(dst, '}'), false, true
	}
	first := true
	for {
		if i >= len(s) || s[i] != '"' {
			return dst, cut, false
		}
		kstart := i
		kend, escaped, err := scanString(s, i)
		if err != nil {
			return dst, cut, false
		}
		key := s[i+1 : kend-1]
		if escaped {
			*keyBuf = unescape((*keyBuf)[:0], key)
			key = *keyBuf
		}
		i = skipWS(s, kend)
		if i >= len(s) || s[i] != ':' {
			return dst, cut, false
		}
		i = skipWS(s, i+1)
		vend, err := scanValue(s, i, 1)
		if err != nil {
			return dst, cut, false
		}
		field := -1
		for j, n := range c.names {
			if n == string(key) {
				field = j
				break
			}
		}
		if field < 0 {
			cut = true
		} else {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, s[kstart:kend]...)
			dst = append(dst, ':')
			if fc := c.elems[field]; fc.kind == kStruct && s[i] == '{' {
				var sub bool
				dst, sub, ok = pruneObject(fc, s[i:vend], dst, keyBuf)
				if !ok {
					return dst, cut, false
				}
				cut = cut || sub
			} else {
				dst = append(dst, s[i:vend]...)
			}
		}
		i = skipWS(s, vend)
		if i >= len(s) {
			return dst, cut, false
		}
		if s[i] == '}' {
			return append(dst, '}'), cut, true
		}
		if s[i] != ',' {
			return dst, cut, false
		}
		i = skipWS(s, i+1)
	}
}
