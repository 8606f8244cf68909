package schema

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
	// Timezone names in types are validated with time.LoadLocation; embed
	// the IANA database so that validate gives the same answer on a CI
	// runner, a laptop and a minimal container without /usr/share/zoneinfo.
	_ "time/tzdata"

	"github.com/agext/levenshtein"
)

// typeNames are the scalar type names, in the order error messages list them.
var typeNames = []string{"bool", "int32", "int64", "float32", "float64", "string", "binary", "date"}

// paramNames are the parameterised type names.
var paramNames = []string{"timestamp", "decimal", "list", "struct", "map"}

var scalarKinds = map[string]Kind{
	"bool": Bool, "int32": Int32, "int64": Int64, "float32": Float32, "float64": Float64,
	"string": String, "binary": Binary, "date": Date,
}

// MaxDecimalPrecision is the largest precision of decimal(p, s): Arrow's decimal128.
const MaxDecimalPrecision = 38

// ParseType parses a column type as written in a schema (DESIGN §1 "Schemas"):
//
//	bool | int32 | int64 | float32 | float64 | string | binary | date
//	timestamp(ms|us|ns[, TZ])     TZ an IANA name such as Europe/Paris, or UTC (the default)
//	decimal(P, S)                  1 ≤ P ≤ 38, 0 ≤ S ≤ P
//	list(T)
//	map(K, V)                      K a scalar type
//	struct(NAME T, ...)            at least one field; NAME an identifier or a
//	                               double-quoted Go string; names unique
//
// Names are case-sensitive (lower case) and whitespace between tokens is
// ignored. The returned error says what was expected and, for a misspelt
// name, suggests the closest ones.
func ParseType(s string) (Type, error) {
	p := &typeParser{src: s}
	t, err := p.parseType()
	if err != nil {
		return Type{}, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return Type{}, p.errorf("unexpected %q after type %s", p.src[p.pos:], t)
	}
	return t, nil
}

// MustParseType is ParseType for types known to be valid (tests, built-in
// tables); it panics on error.
func MustParseType(s string) Type {
	t, err := ParseType(s)
	if err != nil {
		panic(err)
	}
	return t
}

type typeParser struct {
	src string
	pos int
}

// TypeError is a ParseType failure: Offset is the byte offset in the type
// string where the problem is, so callers can point into the attribute.
type TypeError struct {
	Type    string
	Offset  int
	Message string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("invalid type %q: %s", e.Type, e.Message)
}

func (p *typeParser) errorf(format string, args ...any) error {
	return &TypeError{Type: p.src, Offset: p.pos, Message: fmt.Sprintf(format, args...)}
}

func (p *typeParser) skipSpace() {
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

// word reads an identifier-like word: letters, digits, '_', and, for
// timezone names, '/', '+', '-' when allowSlash is set.
func (p *typeParser) word(tz bool) string {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		ok := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
		if tz {
			ok = ok || r == '/' || r == '+' || r == '-'
		}
		if !ok {
			break
		}
		p.pos += n
	}
	return p.src[start:p.pos]
}

func (p *typeParser) accept(c byte) bool {
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == c {
		p.pos++
		return true
	}
	return false
}

func (p *typeParser) expect(c byte, what string) error {
	if !p.accept(c) {
		if p.pos >= len(p.src) {
			return p.errorf("expected %q %s, found end of text", c, what)
		}
		return p.errorf("expected %q %s, found %q", c, what, p.src[p.pos:])
	}
	return nil
}

func (p *typeParser) parseType() (Type, error) {
	p.skipSpace()
	start := p.pos
	name := p.word(false)
	if name == "" {
		if p.pos >= len(p.src) {
			return Type{}, p.errorf("missing type; expected one of %s", allowedTypes())
		}
		return Type{}, p.errorf("expected a type name, found %q; expected one of %s", p.src[p.pos:], allowedTypes())
	}
	if k, ok := scalarKinds[name]; ok {
		return Type{Kind: k}, nil
	}
	switch name {
	case "timestamp":
		return p.parseTimestamp()
	case "decimal":
		return p.parseDecimal()
	case "list":
		if err := p.expect('(', "after list"); err != nil {
			return Type{}, err
		}
		elem, err := p.parseType()
		if err != nil {
			return Type{}, err
		}
		if err := p.expect(')', "to close list("); err != nil {
			return Type{}, err
		}
		return ListOf(elem), nil
	case "map":
		return p.parseMap()
	case "struct":
		return p.parseStruct()
	}
	p.pos = start
	if dym := didYouMean(name); dym != "" {
		return Type{}, p.errorf("unknown type %q%s", name, dym)
	}
	return Type{}, p.errorf("unknown type %q; allowed: %s", name, allowedTypes())
}

func (p *typeParser) parseTimestamp() (Type, error) {
	if err := p.expect('(', "after timestamp: a unit is required, as in timestamp(us)"); err != nil {
		return Type{}, err
	}
	p.skipSpace()
	at := p.pos
	unit := p.word(false)
	var u TimeUnit
	switch unit {
	case "ms":
		u = Millisecond
	case "us":
		u = Microsecond
	case "ns":
		u = Nanosecond
	default:
		p.pos = at
		return Type{}, p.errorf("unknown timestamp unit %q; allowed: ms, us, ns", unit)
	}
	tz := ""
	if p.accept(',') {
		p.skipSpace()
		at = p.pos
		tz = p.word(true)
		if tz == "" {
			return Type{}, p.errorf("expected a timezone name (such as UTC or Europe/Paris) after the comma")
		}
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			p.pos = at
			return Type{}, p.errorf("unknown timezone %q; use an IANA name such as UTC or Europe/Paris", tz)
		}
	}
	if err := p.expect(')', "to close timestamp("); err != nil {
		return Type{}, err
	}
	return TimestampOf(u, tz), nil
}

func (p *typeParser) integer(what string) (int, error) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
		p.pos++
	}
	if start == p.pos {
		return 0, p.errorf("expected the %s, a whole number", what)
	}
	n, err := strconv.Atoi(p.src[start:p.pos])
	if err != nil {
		p.pos = start
		return 0, p.errorf("%s %q is out of range", what, p.src[start:p.pos])
	}
	return n, nil
}

func (p *typeParser) parseDecimal() (Type, error) {
	if err := p.expect('(', "after decimal: precision and scale are required, as in decimal(18, 2)"); err != nil {
		return Type{}, err
	}
	p.skipSpace()
	at := p.pos
	prec, err := p.integer("precision")
	if err != nil {
		return Type{}, err
	}
	if prec < 1 || prec > MaxDecimalPrecision {
		p.pos = at
		return Type{}, p.errorf("decimal precision %d is out of range; allowed: 1 to %d", prec, MaxDecimalPrecision)
	}
	if err := p.expect(',', "between precision and scale, as in decimal(18, 2)"); err != nil {
		return Type{}, err
	}
	p.skipSpace()
	at = p.pos
	scale, err := p.integer("scale")
	if err != nil {
		return Type{}, err
	}
	if scale > prec {
		p.pos = at
		return Type{}, p.errorf("decimal scale %d is larger than the precision %d; allowed: 0 to %d", scale, prec, prec)
	}
	if err := p.expect(')', "to close decimal("); err != nil {
		return Type{}, err
	}
	return DecimalOf(prec, scale), nil
}

func (p *typeParser) parseMap() (Type, error) {
	if err := p.expect('(', "after map: key and value types are required, as in map(string, int64)"); err != nil {
		return Type{}, err
	}
	p.skipSpace()
	at := p.pos
	key, err := p.parseType()
	if err != nil {
		return Type{}, err
	}
	if key.IsNested() {
		p.pos = at
		return Type{}, p.errorf("map key type %s is nested; a map key must be a scalar type", key)
	}
	if err := p.expect(',', "between the key and value types of map(K, V)"); err != nil {
		return Type{}, err
	}
	val, err := p.parseType()
	if err != nil {
		return Type{}, err
	}
	if err := p.expect(')', "to close map("); err != nil {
		return Type{}, err
	}
	return MapOf(key, val), nil
}

func (p *typeParser) parseStruct() (Type, error) {
	if err := p.expect('(', `after struct: fields are required, as in struct(id int64, name string)`); err != nil {
		return Type{}, err
	}
	var fields []Field
	seen := map[string]bool{}
	for {
		p.skipSpace()
		at := p.pos
		var name string
		if p.pos < len(p.src) && p.src[p.pos] == '"' {
			q, err := strconv.QuotedPrefix(p.src[p.pos:])
			if err != nil {
				return Type{}, p.errorf("unterminated quoted field name")
			}
			name, _ = strconv.Unquote(q)
			p.pos += len(q)
			if name == "" {
				p.pos = at
				return Type{}, p.errorf("empty struct field name")
			}
		} else {
			name = p.word(false)
			if name == "" {
				return Type{}, p.errorf(`expected a struct field name (an identifier or a "quoted" name)`)
			}
		}
		if seen[name] {
			p.pos = at
			return Type{}, p.errorf("duplicate struct field %q", name)
		}
		seen[name] = true
		ft, err := p.parseType()
		if err != nil {
			return Type{}, err
		}
		fields = append(fields, Field{Name: name, Type: ft})
		if p.accept(',') {
			continue
		}
		if err := p.expect(')', "or ',' after a struct field"); err != nil {
			return Type{}, err
		}
		return StructOf(fields...), nil
	}
}

func allowedTypes() string {
	return strings.Join(typeNames, ", ") + ", timestamp(unit[, tz]), decimal(p, s), list(T), map(K, V), struct(name T, ...)"
}

// didYouMean returns `; did you mean "a" or "b"?` for the type names closest
// to name, or "" when none is close.
// sqlTypes maps the type names of SQL (and of Spark, Hive, Glue and
// Athena DDL) that users bring with them to sluice's.
var sqlTypes = map[string]string{
	"varchar": "string", "char": "string", "text": "string", "nvarchar": "string", "character": "string",
	"str": "string", "utf8": "string", "json": "string", "uuid": "string",
	"integer": "int32", "smallint": "int32", "tinyint": "int32", "int4": "int32", "int2": "int32",
	"bigint": "int64", "long": "int64", "int8": "int64",
	"double": "float64", "float8": "float64", "real": "float32", "float4": "float32", "float": "float64", "number": "float64",
	"boolean": "bool", "bit": "bool",
	"datetime": "timestamp(us)", "timestamptz": "timestamp(us, UTC)", "datetime2": "timestamp(us)",
	"numeric": "decimal(p, s)", "money": "decimal(19, 4)",
	"bytes": "binary", "bytea": "binary", "blob": "binary", "varbinary": "binary",
	"array": "list(T)", "object": "struct(name T, ...)", "record": "struct(name T, ...)",
}

func didYouMean(name string) string {
	if t, ok := sqlTypes[strings.ToLower(name)]; ok {
		return fmt.Sprintf("; did you mean %q? (%s is a SQL name; sluice writes %s)", t, name, t)
	}
	type cand struct {
		name string
		d    int
	}
	var cs []cand
	all := append(append([]string{}, typeNames...), paramNames...)
	for _, n := range all {
		if strings.ToLower(name) == n {
			return fmt.Sprintf("; did you mean %q? (type names are lower case)", n)
		}
		d := levenshtein.Distance(strings.ToLower(name), n, nil)
		// Prefix matches ("int" for "int32"/"int64") count as close even when
		// the edit distance is large relative to the word.
		if d <= 2 || (len(name) >= 3 && strings.HasPrefix(n, strings.ToLower(name))) {
			cs = append(cs, cand{n, d})
		}
	}
	if len(cs) == 0 {
		return ""
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].d < cs[j].d })
	if len(cs) > 2 {
		cs = cs[:2]
	}
	if len(cs) == 1 {
		return fmt.Sprintf("; did you mean %q?", cs[0].name)
	}
	return fmt.Sprintf("; did you mean %q or %q?", cs[0].name, cs[1].name)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return false
		}
	}
	return true
}
