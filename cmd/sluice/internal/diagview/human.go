package diagview

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/rivo/uniseg"
)

// Options control how diagnostics are shown.
type Options struct {
	// Color writes ANSI colors (only when the stream is a terminal and the
	// user did not say -no-color; the caller decides).
	Color bool
	// Sources supplies source lines; nil prints no source lines.
	Sources *Sources
	// Cwd makes file names relative to it (see DisplayPath); "" keeps them.
	Cwd string
}

// TabWidth is the tab stop used when a source line is shown. Tabs are
// expanded rather than copied so that the caret line lines up whatever the
// terminal's tab setting is.
const TabWidth = 4

const (
	ansiReset   = "\x1b[0m"
	ansiBold    = "\x1b[1m"
	ansiError   = "\x1b[1;31m"
	ansiWarning = "\x1b[1;35m"
	ansiCaret   = "\x1b[1;32m"
)

// WriteHuman writes each diagnostic as
//
//	file:line:col: error: summary
//	  12 |     where = "amout > 0"
//	     |              ^~~~~
//	  detail
//
// separated by blank lines. Columns are HCL's: 1-based, counting
// characters. The caret is placed from the range's byte offset, so it is
// exact with tabs and multi-byte characters before it.
func WriteHuman(w io.Writer, diags hcl.Diagnostics, opts Options) error {
	var buf bytes.Buffer
	for i, d := range diags {
		if i > 0 {
			buf.WriteByte('\n')
		}
		writeOne(&buf, d, opts)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return code + s + ansiReset
}

// SeverityName is "error" or "warning", as printed.
func SeverityName(s hcl.DiagnosticSeverity) string {
	switch s {
	case hcl.DiagError:
		return "error"
	case hcl.DiagWarning:
		return "warning"
	}
	return "note"
}

func writeOne(buf *bytes.Buffer, d *hcl.Diagnostic, opts Options) {
	sev := SeverityName(d.Severity)
	color := ansiError
	if d.Severity == hcl.DiagWarning {
		color = ansiWarning
	}
	if r := d.Subject; r != nil && r.Filename != "" {
		loc := fmt.Sprintf("%s:%d:%d:", DisplayPath(r.Filename, opts.Cwd), r.Start.Line, r.Start.Column)
		buf.WriteString(paint(opts.Color, ansiBold, loc) + " ")
	}
	buf.WriteString(paint(opts.Color, color, sev+":") + " " + paint(opts.Color, ansiBold, d.Summary) + "\n")
	if r := d.Subject; r != nil {
		if src, ok := opts.Sources.Get(r.Filename); ok {
			writeSnippet(buf, src, *r, opts.Color)
		}
	}
	if det := strings.TrimRight(d.Detail, "\n"); det != "" {
		for _, l := range strings.Split(det, "\n") {
			if l == "" {
				buf.WriteByte('\n')
				continue
			}
			buf.WriteString("  " + l + "\n")
		}
	}
}

// writeSnippet prints the range's first line and the caret line under it.
// Nothing is printed when the range does not fit the file (a stale range
// must not produce a misleading caret).
func writeSnippet(buf *bytes.Buffer, src []byte, r hcl.Range, color bool) {
	lineStart, line, ok := findLine(src, r.Start.Line)
	if !ok {
		return
	}
	startOff, ok := offsetInLine(line, lineStart, r.Start)
	if !ok {
		return
	}
	endOff := startOff
	if r.End.Line == r.Start.Line {
		if e, ok := offsetInLine(line, lineStart, r.End); ok && e > startOff {
			endOff = e
		}
	}
	shown, cols := expand(line)
	startCol := cols[startOff]
	underline := "^"
	if w := cols[endOff] - startCol; w > 1 {
		underline += strings.Repeat("~", w-1)
	}
	num := strconv.Itoa(r.Start.Line)
	fmt.Fprintf(buf, "  %s | %s\n", num, shown)
	fmt.Fprintf(buf, "  %s | %s%s\n", strings.Repeat(" ", len(num)), strings.Repeat(" ", startCol), paint(color, ansiCaret, underline))
}

// findLine returns the byte offset and text (without its line ending) of
// the 1-based line n.
func findLine(src []byte, n int) (int, string, bool) {
	if n < 1 {
		return 0, "", false
	}
	start := 0
	for i := 1; i < n; i++ {
		j := bytes.IndexByte(src[start:], '\n')
		if j < 0 {
			return 0, "", false
		}
		start += j + 1
	}
	end := len(src)
	if j := bytes.IndexByte(src[start:], '\n'); j >= 0 {
		end = start + j
	}
	return start, strings.TrimSuffix(string(src[start:end]), "\r"), true
}

// offsetInLine converts a position on this line to a byte offset within
// it. The byte offset is trusted when it falls on this line (HCL ranges
// carry exact bytes); otherwise the column is counted in grapheme clusters,
// HCL's unit, for ranges built by hand without bytes.
func offsetInLine(line string, lineStart int, p hcl.Pos) (int, bool) {
	if off := p.Byte - lineStart; p.Byte > 0 || lineStart == 0 {
		if off >= 0 && off <= len(line) && (p.Column < 1 || p.Column-1 <= off) {
			return off, true
		}
	}
	if p.Column < 1 {
		return 0, false
	}
	off, rest := 0, line
	state := -1
	for i := 1; i < p.Column; i++ {
		if rest == "" {
			return 0, false
		}
		var c string
		c, rest, _, state = uniseg.FirstGraphemeClusterInString(rest, state)
		off += len(c)
	}
	return off, true
}

// expand returns line with tabs expanded to TabWidth stops, and for every
// byte offset of line (and len(line)) the display column where that byte
// starts. Wide characters (CJK, emoji) take two columns, combining marks
// none, so the caret lands under the character on a terminal.
func expand(line string) (string, []int) {
	cols := make([]int, len(line)+1)
	var out strings.Builder
	col, off, rest, state := 0, 0, line, -1
	for rest != "" {
		var c string
		var width int
		c, rest, width, state = uniseg.FirstGraphemeClusterInString(rest, state)
		for k := range len(c) {
			cols[off+k] = col
		}
		if c == "\t" {
			n := TabWidth - col%TabWidth
			out.WriteString(strings.Repeat(" ", n))
			col += n
		} else {
			out.WriteString(c)
			col += width
		}
		off += len(c)
	}
	cols[len(line)] = col
	return out.String(), cols
}
