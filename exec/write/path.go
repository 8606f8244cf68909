package write

import (
	"strings"
)

// DefaultPartition is the path value of a null (or empty) partition value,
// as Hive and Spark write it.
const DefaultPartition = "__HIVE_DEFAULT_PARTITION__"

// escapeSet marks the bytes EscapePathValue percent-escapes. It is Hive's set
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

// EscapePathValue renders one raw partition value as a path segment value:
// the bytes of Hive's escape set become %XX (upper-case hex), and the empty
// string becomes DefaultPartition (Hive and Spark cannot tell an empty value
// from a null in a path either).
func EscapePathValue(v string) string {
	if v == "" {
		return DefaultPartition
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if escapeSet[v[i]] {
			n++
		}
	}
	if n == 0 {
		return v
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(v) + 2*n)
	for i := 0; i < len(v); i++ {
		c := v[i]
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

// UnescapePathValue inverts EscapePathValue for any %XX sequence (so it also
// reads paths written by engines that escape more characters). It does not
// map DefaultPartition back to null: that is the caller's decision.
func UnescapePathValue(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
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

// PartitionPath renders the directory of one output partition:
// "k1=v1/k2=v2/" with every value passed through EscapePathValue, or "" when
// there are no keys. Keys are column names and are escaped with the same rule.
// It panics if keys and values differ in length (a programming error).
func PartitionPath(keys []string, values []string) string {
	if len(keys) != len(values) {
		panic("write.PartitionPath: keys and values differ in length")
	}
	var b strings.Builder
	for i, k := range keys {
		b.WriteString(escapeKey(k))
		b.WriteByte('=')
		b.WriteString(EscapePathValue(values[i]))
		b.WriteByte('/')
	}
	return b.String()
}

// escapeKey escapes a key like a value but never maps it to DefaultPartition.
func escapeKey(k string) string {
	if k == "" {
		return ""
	}
	return EscapePathValue(k)
}
