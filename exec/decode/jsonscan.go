package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// A small validating JSON scanner for the top level of an NDJSON line. It
// finds each key's raw value without building a tree, so keys that are not
// read cost one validating pass and nothing else, and scalar values are
// converted straight from the line's bytes. Nested values read as
// list/struct/map columns are handed to fastjson.

const maxJSONDepth = 512

type jsonSyntaxError struct {
	off int
	msg string
}

func (e *jsonSyntaxError) Error() string { return fmt.Sprintf("%s at offset %d", e.msg, e.off) }

func synErr(off int, msg string) error { return &jsonSyntaxError{off: off, msg: msg} }

func skipWS(s []byte, i int) int {
	// Writers of NDJSON rarely put spaces between tokens: one test, inlined,
	// settles the usual case.
	if i < len(s) && s[i] > ' ' {
		return i
	}
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n':
			i++
		default:
			return i
		}
	}
	return i
}

// scanString returns the index after the closing quote of the string that
// starts at s[i] == '"', and whether it holds escapes. A raw control
// character (U+0000 to U+001F) inside it is an error: RFC 8259 requires
// them escaped, and Python's and DuckDB's parsers refuse them too.
func scanString(s []byte, i int) (end int, escaped bool, err error) {
	i++
	for {
		j := nextStringSpecial(s, i)
		if j >= len(s) {
			return 0, false, synErr(len(s), "unterminated string")
		}
		if s[j] == '"' {
			return j + 1, escaped, nil
		}
		if s[j] < 0x20 {
			return 0, false, synErr(j, fmt.Sprintf("raw control character U+%04X in a string (column %d; JSON requires it escaped, as \\u%04x)", s[j], j+1, s[j]))
		}
		escaped = true
		if j+1 >= len(s) {
			return 0, false, synErr(len(s), "unterminated string")
		}
		switch s[j+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i = j + 2
		case 'u':
			if j+6 > len(s) || !isHex4(s[j+2:j+6]) {
				return 0, false, synErr(j, "invalid \\u escape")
			}
			i = j + 6
		default:
			return 0, false, synErr(j, fmt.Sprintf("invalid escape \\%c", s[j+1]))
		}
	}
}

// nextStringSpecial returns the index of the first '"', '\\' or control
// character (< 0x20) in s at or after i, or len(s). It tests eight bytes at a
// time (SWAR): strings and keys are where a scanner spends its time, and
// most are longer than a word.
func nextStringSpecial(s []byte, i int) int {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	for ; i+8 <= len(s); i += 8 {
		w := binary.LittleEndian.Uint64(s[i:])
		q, b := w^('"'*ones), w^('\\'*ones)
		// A byte of q or b is zero where w holds a quote or a backslash;
		// (x-ones)&^x&highs flags zero bytes exactly up to the first one,
		// which is all the trailing-zero count looks at. (w-0x20*ones)&^w
		// flags bytes below 0x20 the same way: a byte borrows only when it
		// is one, so the first flag is exact.
		if m := ((q-ones)&^q | (b-ones)&^b | (w-0x20*ones)&^w) & highs; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for i < len(s) && s[i] != '"' && s[i] != '\\' && s[i] >= 0x20 {
		i++
	}
	return i
}

func isHex4(b []byte) bool {
	for _, c := range b[:4] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c-'a') + 10
		default:
			r |= rune(c-'A') + 10
		}
	}
	return r
}

// unescape appends the decoded content of a scanned JSON string (without
// its quotes) to dst. Lone surrogates become U+FFFD, as in encoding/json.
func unescape(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			j := i
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		switch s[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i+2:])
			i += 6
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2 := utf16.DecodeRune(r, hex4(s[i+2:])); r2 != utf8.RuneError {
						dst = utf8.AppendRune(dst, r2)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, s[i+1])
		}
		i += 2
	}
	return dst
}

// scanNumber returns the end of the JSON number starting at s[i].
func scanNumber(s []byte, i int) (int, error) {
	start := i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && s[i] >= '1' && s[i] <= '9':
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
	default:
		return 0, synErr(start, "invalid number")
	}
	if i < len(s) && s[i] == '.' {
		i++
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return 0, synErr(start, "invalid number")
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == j {
			return 0, synErr(start, "invalid number")
		}
	}
	return i, nil
}

func scanLiteral(s []byte, i int, lit string) (int, error) {
	if len(s)-i < len(lit) || string(s[i:i+len(lit)]) != lit {
		return 0, synErr(i, "invalid literal")
	}
	return i + len(lit), nil
}

// scanValue validates the JSON value starting at s[i] (no leading space)
// and returns its end.
func scanValue(s []byte, i, depth int) (int, error) {
	if i >= len(s) {
		return 0, synErr(i, "unexpected end of line")
	}
	switch c := s[i]; {
	case c == '"':
		end, _, err := scanString(s, i)
		return end, err
	case c == '-' || c >= '0' && c <= '9':
		return scanNumber(s, i)
	case c == 't':
		return scanLiteral(s, i, "true")
	case c == 'f':
		return scanLiteral(s, i, "false")
	case c == 'n':
		return scanLiteral(s, i, "null")
	case c == '[':
		if depth >= maxJSONDepth {
			return 0, synErr(i, "nested too deeply")
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == ']' {
			return i + 1, nil
		}
		for {
			end, err := scanValue(s, i, depth+1)
			if err != nil {
				return 0, err
			}
			i = skipWS(s, end)
			if i >= len(s) {
				return 0, synErr(i, "unexpected end of line in array")
			}
			if s[i] == ']' {
				return i + 1, nil
			}
			if s[i] != ',' {
				return 0, synErr(i, fmt.Sprintf("expected ',' or ']' in array, found %q", s[i]))
			}
			i = skipWS(s, i+1)
		}
	case c == '{':
		if depth >= maxJSONDepth {
			return 0, synErr(i, "nested too deeply")
		}
		i = skipWS(s, i+1)
		if i < len(s) && s[i] == '}' {
			return i + 1, nil
		}
		for {
			if i >= len(s) || s[i] != '"' {
				return 0, synErr(i, "expected a string key")
			}
			end, _, err := scanString(s, i)
			if err != nil {
				return 0, err
			}
			i = skipWS(s, end)
			if i >= len(s) || s[i] != ':' {
				return 0, synErr(i, "expected ':' after key")
			}
			end, err = scanValue(s, skipWS(s, i+1), depth+1)
			if err != nil {
				return 0, err
			}
			i = skipWS(s, end)
			if i >= len(s) {
				return 0, synErr(i, "unexpected end of line in object")
			}
			if s[i] == '}' {
				return i + 1, nil
			}
			if s[i] != ',' {
				return 0, synErr(i, fmt.Sprintf("expected ',' or '}' in object, found %q", s[i]))
			}
			i = skipWS(s, i+1)
		}
	}
	return 0, synErr(i, fmt.Sprintf("unexpected character %q", s[i]))
}

// rawTypeName names the JSON type of a scanned raw value.
func rawTypeName(v []byte) string {
	switch v[0] {
	case '"':
		return "string"
	case '{':
		return "object"
	case '[':
		return "array"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// fixLoneSurrogates returns JSON text s with every \u escape of a lone
// UTF-16 surrogate replaced by \uFFFD (a copy in *scratch), or s itself
// when it has none. fastjson, which decodes nested values, keeps such an
// escape as its six characters of text, while unescape (top-level
// strings) and encoding/json decode it to U+FFFD: this makes a string
// inside a list or struct read as the same string outside one.
func fixLoneSurrogates(s []byte, scratch *[]byte) []byte {
	if !bytes.Contains(s, []byte(`\u`)) {
		return s
	}
	out := s
	copied := false
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		if s[i+1] != 'u' || i+6 > len(s) || !isHex4(s[i+2:i+6]) {
			i++ // another escape: skip its second character
			continue
		}
		r := hex4(s[i+2:])
		lone := false
		switch {
		case r >= 0xd800 && r < 0xdc00: // high: a low escape must follow
			if i+12 <= len(s) && s[i+6] == '\\' && s[i+7] == 'u' && isHex4(s[i+8:i+12]) {
				if lo := hex4(s[i+8:]); lo >= 0xdc00 && lo < 0xe000 {
					i += 11 // a pair
					continue
				}
			}
			lone = true
		case r >= 0xdc00 && r < 0xe000:
			lone = true
		}
		if lone {
			if !copied {
				out = append((*scratch)[:0], s...)
				*scratch = out
				copied = true
			}
			copy(out[i+2:i+6], "FFFD")
		}
		i += 5
	}
	return out
}
