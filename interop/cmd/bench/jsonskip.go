package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
)

// skipJSON parses one JSON value at b[i:] (after optional whitespace) and
// returns the offset just past it, building nothing: the floor's parse-only
// pass. It checks the structure (brackets, separators, string ends, literal
// spelling, number characters) but, unlike a validator, not every detail of
// number grammar, escapes or UTF-8, so it is the cheapest pass that still
// finds every value.
func skipJSON(b []byte, i int) (int, error) {
	i = skipSpace(b, i)
	if i >= len(b) {
		return i, errors.New("unexpected end")
	}
	switch c := b[i]; {
	case c == '{':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, nil
		}
		for {
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != '"' {
				return i, fmt.Errorf("offset %d: want a key", i)
			}
			var err error
			if i, err = skipString(b, i); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, fmt.Errorf("offset %d: want ':'", i)
			}
			if i, err = skipJSON(b, i+1); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == '}' {
				return i + 1, nil
			}
			return i, fmt.Errorf("offset %d: want ',' or '}'", i)
		}
	case c == '[':
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, nil
		}
		for {
			var err error
			if i, err = skipJSON(b, i); err != nil {
				return i, err
			}
			i = skipSpace(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == ']' {
				return i + 1, nil
			}
			return i, fmt.Errorf("offset %d: want ',' or ']'", i)
		}
	case c == '"':
		return skipString(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	case c == '-' || c >= '0' && c <= '9':
		j := i + 1
		for j < len(b) && (b[j] >= '0' && b[j] <= '9' || b[j] == '.' || b[j] == 'e' || b[j] == 'E' || b[j] == '+' || b[j] == '-') {
			j++
		}
		return j, nil
	}
	return i, fmt.Errorf("offset %d: unexpected %q", i, b[i])
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString skips the string starting at b[i] == '"'. Short strings (most
// keys and values) are scanned 8 bytes at a time; a long one with memchr.
func skipString(b []byte, i int) (int, error) {
	i++
	for i+8 <= len(b) {
		w := binary.LittleEndian.Uint64(b[i:])
		// Bytes equal to '"' or '\\' have their high bit set in m.
		q, bs := w^0x2222222222222222, w^0x5c5c5c5c5c5c5c5c
		m := ((q - 0x0101010101010101) &^ q) | ((bs - 0x0101010101010101) &^ bs)
		m &= 0x8080808080808080
		if m == 0 {
			i += 8
			continue
		}
		k := i + bits.TrailingZeros64(m)/8
		if b[k] == '"' {
			return k + 1, nil
		}
		break // a backslash: the careful loop below
	}
	for {
		q := bytes.IndexByte(b[i:], '"')
		if q < 0 {
			return len(b), errors.New("unterminated string")
		}
		// The quote ends the string unless an odd run of backslashes
		// precedes it.
		n := 0
		for k := i + q - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		i += q + 1
		if n%2 == 0 {
			return i, nil
		}
	}
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return i, fmt.Errorf("offset %d: want %s", i, lit)
	}
	return i + len(lit), nil
}
