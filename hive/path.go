package hive

import "strings"

// DefaultPartition is the path value of a null (or empty) partition value,
// as Hive and Spark write it and DuckDB reads it.
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// escapeSet marks the bytes Escape percent-escapes. It is Hive's set
// (FileUtils.charToEscape, which Spark's ExternalCatalogUtils copies): the
// control characters 0x00–0x1F and 0x7F, and " # % ' * / : = ? \ { [ ] ^.
// '/' and '=' would break the key=value/ structure, '%' is the escape
// character itself, '#' and '?' confuse URLs, and the rest keep paths usable
// on every file system and by every engine that unescapes with Hive's rule.
// Other bytes, including non-ASCII UTF-8, are kept as they are.
var escapeSet = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t[0x7f] = true
	for _, c := range []byte("\"#%'*/:=?\\{[]^") {
		t[c] = true
	}
	return t
}()

// Escape percent-escapes the bytes of Hive's escape set as %XX (upper-case
// hex, as Hive writes them). It maps "" to "": see EscapeValue for values.
func Escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if escapeSet[s[i]] {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if escapeSet[c] {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&0xf])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// EscapeValue renders one partition value (unescaped text, "" for null) as
// it appears after "key=": escaped with Escape, and "" as DefaultPartition
// (Hive and Spark cannot tell an empty value from a null in a path either).
func EscapeValue(v string) string {
	if v == "" {
		return DefaultPartition
	}
	return Escape(v)
}

// Unescape decodes every %XX sequence (upper- or lower-case hex), so it
// reads paths written by engines that escape more than Hive's set (%20).
// It is lenient the way Hive and Spark are: a '%' not followed by two hex
// digits is kept as it is ("50%off", "%zz", a trailing "%"), because such a
// path is data someone wrote and failing on it would stop every run that
// lists it. It does not map DefaultPartition to null: see DecodeValue.
func Unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b.WriteByte(hi<<4 | lo)
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// DecodeValue reads a value as written after "key=": ok is false for
// DefaultPartition (a null value); otherwise v is the unescaped text.
// The marker is recognised as written, before unescaping, as Hive does.
func DecodeValue(escaped string) (v string, ok bool) {
	if escaped == DefaultPartition {
		return "", false
	}
	return Unescape(escaped), true
}

// Segment renders one directory name, key=value, with both escaped (the
// value by EscapeValue).
func Segment(key, value string) string {
	return Escape(key) + "=" + EscapeValue(value)
}

// Dir renders the directory of one partition, "k1=v1/k2=v2/", or "" when
// there are no keys. values are unescaped text, "" for null. It panics if
// keys and values differ in length (a programming error).
func Dir(keys, values []string) string {
	if len(keys) != len(values) {
		panic("hive.Dir: keys and values differ in length")
	}
	var b strings.Builder
	for i, k := range keys {
		b.WriteString(Segment(k, values[i]))
		b.WriteByte('/')
	}
	return b.String()
}

// Cut splits one path segment at its first '=' into the key, unescaped
// (a name to compare with a partition key), and the value as written
// (escaped; decode it with DecodeValue). ok is false when seg has no '='.
// A value may itself hold '=' (written by a tool that does not escape):
// it stays in the value.
func Cut(seg string) (key, value string, ok bool) {
	k, v, ok := strings.Cut(seg, "=")
	if !ok {
		return "", "", false
	}
	return Unescape(k), v, true
}

// PathValues returns the values, as written (escaped), of keys in the
// leading directories of rel, a key relative to a source: rel must start
// "k1=v1/k2=v2/…" in the order of keys. It stops at the first directory
// that is not the next key's (or at the file name), so it returns fewer
// values than keys for a key outside the layout.
func PathValues(rel string, keys []string) []string {
	if len(keys) == 0 {
		return nil
	}
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		seg, rest, ok := strings.Cut(rel, "/")
		if !ok {
			break
		}
		name, v, ok := Cut(seg)
		if !ok || name != k {
			break
		}
		out = append(out, v)
		rel = rest
	}
	return out
}

// Value is one partition value read from a path.
type Value struct {
	Text string // unescaped; "" when Null
	Null bool   // the path held DefaultPartition
}

// Parse reads the values of keys from the leading directories of rel, as
// PathValues does, and decodes each one (DecodeValue). It is the inverse
// of Dir: Parse(Dir(keys, vs)+name, keys) gives vs back, "" as Null.
func Parse(rel string, keys []string) []Value {
	raw := PathValues(rel, keys)
	if raw == nil {
		return nil
	}
	out := make([]Value, len(raw))
	for i, r := range raw {
		v, ok := DecodeValue(r)
		out[i] = Value{Text: v, Null: !ok}
	}
	return out
}

// HiddenSegment reports whether one path segment starts with "_" or ".":
// such segments are not data (_SUCCESS, _sluice/, .tmp files, _temporary/
// directories of other writers).
func HiddenSegment(seg string) bool {
	return strings.HasPrefix(seg, "_") || strings.HasPrefix(seg, ".")
}

// Hidden reports whether a key, relative to a source or sink prefix, has a
// hidden segment (HiddenSegment): such objects are never inputs, and an
// overwrite never treats them as outputs.
func Hidden(rel string) bool {
	for seg := range strings.SplitSeq(rel, "/") {
		if HiddenSegment(seg) {
			return true
		}
	}
	return false
}
