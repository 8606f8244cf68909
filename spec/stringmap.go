package spec

import (
	"bytes"
	"unicode/utf8"

	"github.com/apparentlymart/go-textseg/v15/textseg"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluicedata/sluice/spec/predicate"
)

// stringMap maps byte offsets of a decoded HCL string literal back to
// positions in the file, so that an error at byte 17 of a `where`
// expression can point at the exact line and column it was written on,
// escapes (\" \n \u00e9 $${) and multi-byte characters included.
//
// When the expression is not a plain literal (it interpolates ${…}) there
// is no such correspondence; whole is then the range every span maps to.
type stringMap struct {
	filename string
	src      []byte // the whole file
	offs     []int  // offs[i] = file byte offset where decoded byte i starts; len = len(decoded)+1
	ends     []int  // ends[i] = file byte offset just after the character or escape holding decoded byte i
	whole    hcl.Range
}

// rangeOf returns the file range of the span [sp.Start, sp.End) of the decoded string.
func (m *stringMap) rangeOf(sp predicate.Span) hcl.Range {
	if m == nil {
		return hcl.Range{}
	}
	if m.offs == nil {
		return m.whole
	}
	n := len(m.offs) - 1
	start, end := clamp(sp.Start, 0, n), clamp(sp.End, 0, n)
	if end < start {
		end = start
	}
	so, eo := m.offs[start], m.offs[start]
	if end > start {
		eo = m.ends[end-1]
	}
	return hcl.Range{Filename: m.filename, Start: posAt(m.src, so), End: posAt(m.src, eo)}
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// posAt converts a byte offset of src into an hcl.Pos. Columns count
// grapheme clusters from 1, as the HCL scanner does, so that carets line
// up under the same character HCL itself would point at.
func posAt(src []byte, off int) hcl.Pos {
	off = clamp(off, 0, len(src))
	line := 1 + bytes.Count(src[:off], []byte{'\n'})
	ls := bytes.LastIndexByte(src[:off], '\n') + 1
	col := 1
	rest := src[ls:off]
	for len(rest) > 0 {
		adv, _, err := textseg.ScanGraphemeClusters(rest, true)
		if err != nil || adv <= 0 {
			adv = 1
		}
		rest = rest[adv:]
		col++
	}
	return hcl.Pos{Line: line, Column: col, Byte: off}
}

// newStringMap builds the map for expr, whose evaluated value is decoded.
// It returns a map with only whole set when the expression is not made of
// literal text, or when re-decoding the source does not reproduce decoded
// exactly (a safety net: a wrong column is worse than a coarse one).
func newStringMap(expr hcl.Expression, src []byte, decoded string) *stringMap {
	rng := expr.Range()
	m := &stringMap{filename: rng.Filename, src: src, whole: rng}
	var lit hcl.Range
	heredoc := false
	switch e := expr.(type) {
	case *hclsyntax.TemplateExpr:
		if len(e.Parts) == 0 {
			return m
		}
		for _, p := range e.Parts {
			if _, ok := p.(*hclsyntax.LiteralValueExpr); !ok {
				return m
			}
		}
		lit = hcl.RangeBetween(e.Parts[0].Range(), e.Parts[len(e.Parts)-1].Range())
		heredoc = rng.Start.Byte < len(src) && src[rng.Start.Byte] == '<'
	default:
		return m
	}
	if lit.Start.Byte < 0 || lit.End.Byte > len(src) || lit.Start.Byte > lit.End.Byte {
		return m
	}
	offs, ends, out := decodeLiteral(src, lit.Start.Byte, lit.End.Byte, heredoc)
	if out == decoded {
		m.offs, m.ends = offs, ends
		return m
	}
	if heredoc {
		// A flush heredoc (<<-) drops the common indentation of its lines
		// (HCL already starts the first part after it): find the width
		// that reproduces the value.
		for n := 1; n <= 64; n++ {
			so, se, sout := stripIndent(offs, ends, out, n)
			if sout == decoded {
				m.offs, m.ends = so, se
				return m
			}
		}
	}
	return m
}

// stripIndent removes up to n leading blanks from every line after the
// first, except blank lines, which HCL leaves alone.
func stripIndent(offs, ends []int, out string, n int) ([]int, []int, string) {
	var so, se []int
	var b []byte
	lineStart := false
	for i := 0; i < len(out); i++ {
		if lineStart {
			lineStart = false
			j := i
			for j < len(out) && j-i < n && (out[j] == ' ' || out[j] == '\t') {
				j++
			}
			if !(j < len(out) && out[j] == '\n') {
				i = j
				if i >= len(out) {
					break
				}
			}
		}
		so, se, b = append(so, offs[i]), append(se, ends[i]), append(b, out[i])
		if out[i] == '\n' {
			lineStart = true
		}
	}
	so = append(so, offs[len(offs)-1])
	return so, se, string(b)
}

// decodeLiteral decodes src[start:end] as the text of a quoted HCL string
// (or heredoc, where backslash is literal) and records where each output
// byte came from.
func decodeLiteral(src []byte, start, end int, heredoc bool) (starts, ends []int, decoded string) {
	var out []byte
	emit := func(b []byte, from, to int) {
		for range b {
			starts = append(starts, from)
			ends = append(ends, to)
		}
		out = append(out, b...)
	}
	i := start
	for i < end {
		c := src[i]
		switch {
		case (c == '$' || c == '%') && i+2 < end && src[i+1] == c && src[i+2] == '{':
			// $${ and %%{ are the escapes for a literal ${ and %{.
			emit([]byte{c, '{'}, i, i+3)
			i += 3
		case c == '\\' && !heredoc && i+1 < end:
			n, b := decodeEscape(src[i:end])
			emit(b, i, i+n)
			i += n
		default:
			_, size := utf8.DecodeRune(src[i:end])
			for k := 0; k < size; k++ {
				starts = append(starts, i+k)
				ends = append(ends, i+k+1)
				out = append(out, src[i+k])
			}
			i += size
		}
	}
	starts = append(starts, end)
	return starts, ends, string(out)
}

// decodeEscape decodes one backslash escape at the start of s and returns
// how many source bytes it used and the bytes it stands for.
func decodeEscape(s []byte) (int, []byte) {
	switch s[1] {
	case 'n':
		return 2, []byte{'\n'}
	case 'r':
		return 2, []byte{'\r'}
	case 't':
		return 2, []byte{'\t'}
	case '"':
		return 2, []byte{'"'}
	case '\\':
		return 2, []byte{'\\'}
	case 'u', 'U':
		n := 4
		if s[1] == 'U' {
			n = 8
		}
		if len(s) >= 2+n {
			var r rune
			ok := true
			for _, h := range s[2 : 2+n] {
				r <<= 4
				switch {
				case h >= '0' && h <= '9':
					r |= rune(h - '0')
				case h >= 'a' && h <= 'f':
					r |= rune(h-'a') + 10
				case h >= 'A' && h <= 'F':
					r |= rune(h-'A') + 10
				default:
					ok = false
				}
			}
			if ok {
				return 2 + n, utf8.AppendRune(nil, r)
			}
		}
	}
	// Unknown escapes are HCL syntax errors; keep the bytes so the
	// equality check in newStringMap falls back to the whole range.
	return 2, s[:2]
}
