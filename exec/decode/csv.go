package decode

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/valyala/fastjson"
)

// csvReader is our own CSV decoder: arrow-go's reader (encoding/csv
// underneath) allocates a string per field and cannot tell which line a bad
// value came from. BenchmarkCSV compares the two.
type csvReader struct {
	textReader
	delim  byte
	quote  byte
	nulls  [][]byte
	p      fastjson.Parser // nested columns are JSON text inside a field
	expect int             // fields per record
	// mapping[i] is the file field of output column i, or -1 (read as null).
	mapping []int

	// The current record: field bytes concatenated in rec, field i is
	// rec[starts[i]:ends[i]]; quoted[i] says it was quoted (never null).
	rec     []byte
	starts  []int
	ends    []int
	quoted  []bool
	recLine int64
	raw     []byte // earlier lines of a multi-line record
	multi   bool
	last    []byte // the last line read (valid until the next read)
	// truncated: the record was longer than MaxRecordBytes; raw holds its
	// beginning only (see skipLong).
	truncated bool

	cells []cell
}

// NewCSV returns a CSV reader. With o.CSV.Header, the first record names
// the columns and schema columns are found by name in any order; a declared
// column missing from the header is reported once through OnBad (Line 1,
// Column, reason "column not in header") and, if OnBad returns nil, read as
// null. Without a header, fields are positional (o.CSVColumns, else the
// schema's columns). Fields equal to one of o.CSV.NullValues are null,
// quoted ones too unless o.CSV.QuotedNulls is false. Empty and whitespace-only lines are
// skipped. Lines end with LF or CRLF, or with CR alone when that is the
// object's first line break; line breaks inside a quoted field are kept as
// they are. A record longer than o.MaxRecordBytes is a bad record, read past
// without being held (see skipLong). Delimiter and quote must be single-byte
// (ASCII) characters. Binary columns take the field's bytes as they are;
// list/struct/map columns take JSON text.
func NewCSV(r io.Reader, o Options) (Reader, error) {
	cr, err := newCSVReader(o)
	if err != nil {
		return nil, err
	}
	cr.lr.br = bufio.NewReaderSize(r, cr.o.readBufferSize())
	cr.lr.detectCR()
	cr.start(r)
	if err := cr.readHeader(); err != nil {
		cr.rb.Release()
		return nil, err
	}
	return cr, nil
}

// newCSVReader returns a reader with no object yet (see begin).
func newCSVReader(o Options) (*csvReader, error) {
	if err := o.normalize(); err != nil {
		return nil, err
	}
	delim, quote := o.CSV.Delimiter, o.CSV.Quote
	if delim == 0 {
		delim = ','
	}
	if quote == 0 {
		quote = '"'
	}
	if delim >= 0x80 || quote >= 0x80 || delim == quote || delim == '\n' || delim == '\r' || quote == '\n' || quote == '\r' {
		err := fmt.Errorf("csv: delimiter %q and quote %q must be distinct single-byte characters other than newline", delim, quote)
		if o.Key != "" { // an Appender is made before any object is known
			err = fmt.Errorf("%s: %w", o.Key, err)
		}
		return nil, err
	}
	nulls := o.CSV.NullValues
	if nulls == nil {
		nulls = []string{""}
	}
	rb := array.NewRecordBuilder(o.Alloc, o.Schema)
	cols, err := newColumns(&o, rb)
	if err != nil {
		rb.Release()
		return nil, err
	}
	cr := &csvReader{
		textReader: newTextReader(o, rb, cols),
		delim:      byte(delim),
		quote:      byte(quote),
		cells:      make([]cell, len(cols)),
	}
	for _, n := range nulls {
		cr.nulls = append(cr.nulls, []byte(n))
	}
	cr.lr.quote = cr.quote
	return cr, nil
}

func (r *csvReader) readHeader() error {
	names := r.o.CSVColumns
	if r.o.CSV.Header {
		ok, reason, err := r.readRecord()
		if err != nil {
			return wrapReadErr(r.o.Key, err)
		}
		if !ok {
			// An empty object: no header and no rows.
			r.expect = -1
			r.mapping = make([]int, len(r.cols))
			for i := range r.mapping {
				r.mapping[i] = -1
			}
			return nil
		}
		if reason != "" {
			return fmt.Errorf("%s:%d: csv header: %s", r.o.Key, r.recLine, reason)
		}
		names = make([]string, len(r.starts))
		for i := range r.starts {
			names[i] = string(r.rec[r.starts[i]:r.ends[i]])
		}
	} else if names == nil {
		for _, f := range r.o.Schema.Fields() {
			names = append(names, f.Name)
		}
	}
	r.expect = len(names)
	r.mapping = make([]int, len(r.cols))
	for i, c := range r.cols {
		r.mapping[i] = -1
		for j, n := range names {
			if n != c.name {
				continue
			}
			if r.mapping[i] >= 0 {
				// Which one the schema means is anybody's guess: taking
				// the first would read the other's data without a word.
				return fmt.Errorf("%s:%d: csv header: column %q appears twice, as columns %d and %d", r.o.Key, r.recLine, n, r.mapping[i]+1, j+1)
			}
			r.mapping[i] = j
		}
		if r.mapping[i] < 0 {
			if err := r.bad(BadRecord{Line: 1, Column: c.name, Reason: "column not in header"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextLine reads a line, keeping the record's earlier lines for Raw.
func (r *csvReader) nextLine() ([]byte, error) {
	line, err := r.lr.next()
	if err == nil {
		r.last = line
	}
	return line, err
}

// readRecord parses the next non-blank record into rec/starts/ends/quoted.
// ok is false at the end of input; reason is non-empty when the record is
// malformed (it was still consumed whole, so decoding can go on).
func (r *csvReader) readRecord() (ok bool, reason string, err error) {
	var line []byte
	for {
		line, err = r.nextLine()
		if err != nil {
			if err == io.EOF {
				return false, "", nil
			}
			return false, "", err
		}
		if r.lr.line == 1 {
			line = bytes.TrimPrefix(line, bom)
			r.last = line
		}
		if r.lr.cut > 0 || !r.blank(line) {
			break
		}
	}
	r.recLine = r.lr.line
	r.multi, r.truncated = false, false
	r.rec = r.rec[:0]
	r.starts = r.starts[:0]
	r.ends = r.ends[:0]
	r.quoted = r.quoted[:0]
	if r.lr.cut > 0 {
		return r.skipLong(line, r.lr.cut, r.oddQuotes(line))
	}
	delim, quote := r.delim, r.quote

	i := 0
	start := 0
	inQuote, afterQuote, quoted := false, false, false
	fieldStart := true
	for {
		if inQuote {
			j := bytes.IndexByte(line[i:], quote)
			if j < 0 {
				// The quoted field goes on on the next line: its line
				// break is part of the value, as it is in the file.
				eol := r.lineBreak()
				r.rec = append(r.rec, line[i:]...)
				r.rec = append(r.rec, eol...)
				if r.multi {
					r.raw = append(r.raw, r.last...)
				} else {
					r.raw = append(r.raw[:0], r.last...)
				}
				r.raw = append(r.raw, eol...)
				r.multi = true
				if len(r.raw) > r.o.MaxRecordBytes {
					return r.skipLong(r.raw, int64(len(r.raw)), true)
				}
				next, err := r.nextLine()
				if err == io.EOF {
					r.rec = r.rec[:len(r.rec)-len(eol)]
					r.raw = r.raw[:len(r.raw)-len(eol)]
					r.last = nil
					r.endField(start, true)
					return true, fmt.Sprintf("unclosed quote in field %d starting on line %d", len(r.starts), r.recLine), nil
				}
				if err != nil {
					return false, "", err
				}
				if r.lr.cut > 0 {
					prefix := append(r.raw, next...)
					return r.skipLong(prefix, int64(len(r.raw))+r.lr.cut, !r.oddQuotes(next))
				}
				line, i = next, 0
				continue
			}
			r.rec = append(r.rec, line[i:i+j]...)
			i += j + 1
			if i < len(line) && line[i] == quote {
				r.rec = append(r.rec, quote)
				i++
				continue
			}
			inQuote, afterQuote = false, true
			continue
		}
		if fieldStart && i < len(line) && line[i] == quote {
			inQuote, quoted, fieldStart = true, true, false
			i++
			continue
		}
		fieldStart = false
		seg := line[i:]
		j := bytes.IndexByte(seg, delim)
		if j >= 0 {
			seg = seg[:j]
		}
		if len(seg) > 0 {
			if afterQuote && reason == "" {
				reason = fmt.Sprintf("unexpected text after closing quote in field %d", len(r.starts)+1)
			}
			if !afterQuote && bytes.IndexByte(seg, quote) >= 0 && reason == "" {
				reason = fmt.Sprintf("bare quote in unquoted field %d", len(r.starts)+1)
			}
			r.rec = append(r.rec, seg...)
		}
		r.endField(start, quoted)
		if j < 0 {
			break
		}
		i += j + 1
		start = len(r.rec)
		inQuote, afterQuote, quoted, fieldStart = false, false, false, true
	}
	if reason == "" && r.expect > 0 && len(r.starts) != r.expect {
		reason = fmt.Sprintf("row has %d fields, expected %d", len(r.starts), r.expect)
	}
	return true, reason, nil
}

// lineBreak is the line break that ended the line last read.
func (r *csvReader) lineBreak() string {
	switch {
	case r.lr.eol == '\r':
		return "\r"
	case r.lr.crlf:
		return "\r\n"
	}
	return "\n"
}

// blank reports whether line holds only spaces, tabs and CRs (other than
// the delimiter): such a line is not a record.
func (r *csvReader) blank(line []byte) bool {
	for _, c := range line {
		if c != ' ' && c != '\t' && c != '\r' || c == r.delim {
			return false
		}
	}
	return true
}

// oddQuotes reports whether the line last read, of which line is what was
// kept, holds an odd number of quote characters.
func (r *csvReader) oddQuotes(line []byte) bool {
	return (bytes.Count(line, []byte{r.quote})+r.lr.quotes)%2 == 1
}

// skipLong ends a record found to be longer than MaxRecordBytes: n bytes
// so far, beginning with prefix, and inside a quoted field when inQuote. It
// reads past the record's remaining lines without keeping them, keeping
// TruncatedRawBytes of it for Raw. Where a long record ends is found by the
// parity of its quote characters (each one opens or closes a quoted field,
// an escaped "" does both), which is exact for well-formed quoting; the
// record is bad either way.
func (r *csvReader) skipLong(prefix []byte, n int64, inQuote bool) (bool, string, error) {
	keep := r.lr.keep()
	r.raw = append(r.raw[:0], prefix[:min(len(prefix), keep)]...)
	unclosed := false
	for inQuote {
		line, err := r.lr.next()
		if err == io.EOF {
			unclosed = true
			break
		}
		if err != nil {
			return false, "", err
		}
		eol := r.lineBreak()
		if r.lr.cut > 0 {
			n += r.lr.cut + 1
		} else {
			n += int64(len(line) + len(eol))
		}
		if len(r.raw) < keep {
			r.raw = append(r.raw, eol...)
			r.raw = append(r.raw, line[:min(len(line), max(0, keep-len(r.raw)))]...)
		}
		if r.oddQuotes(line) {
			inQuote = false
		}
	}
	r.truncated, r.multi, r.last = true, true, nil
	reason := tooLongReason(n, r.o.MaxRecordBytes, len(r.raw))
	if unclosed {
		reason += fmt.Sprintf(", and its quote opened on line %d is never closed", r.recLine)
	}
	return true, reason, nil
}

func (r *csvReader) endField(start int, quoted bool) {
	r.starts = append(r.starts, start)
	r.ends = append(r.ends, len(r.rec))
	r.quoted = append(r.quoted, quoted)
}

func (r *csvReader) rawSoFar() []byte {
	if r.multi {
		return append(r.raw, r.last...)
	}
	return r.last
}

func (r *csvReader) isNull(f []byte) bool {
	for _, n := range r.nulls {
		if bytes.Equal(f, n) {
			return true
		}
	}
	return false
}

func (r *csvReader) Next() (arrow.RecordBatch, error) { return r.next(r.fill) }

// fill appends up to limit records of the current object to the builders
// and returns how many; fewer than limit means the object ended. On an
// error the builders keep the rows appended before it (each row whole).
func (r *csvReader) fill(limit int) (int, error) {
	rows := 0
	for rows < limit {
		ok, reason, err := r.readRecord()
		if err != nil {
			return rows, wrapReadErr(r.o.Key, err)
		}
		if !ok {
			if err := r.ended(); err != nil {
				return rows, err
			}
			break
		}
		if reason != "" {
			if err := r.badRecord("", reason); err != nil {
				return rows, err
			}
			continue
		}
		good, err := r.convertRow()
		if err != nil {
			return rows, err
		}
		if good {
			rows++
		}
	}
	return rows, nil
}

// begin makes a csvReader an objectDecoder (with textReader's end and
// builders): each object has its own header (and so its own column order).
func (r *csvReader) begin(src io.Reader, key string, sizeHint int64) error {
	r.o.Key, r.o.SizeHint = key, sizeHint
	r.lr.reset(src, r.o.readBufferSize())
	r.lr.detectCR()
	r.start(src)
	r.raw, r.multi, r.last, r.expect = r.raw[:0], false, nil, 0
	return r.readHeader()
}

func (r *csvReader) convertRow() (bool, error) {
	for i, c := range r.cols {
		fi := r.mapping[i]
		var f []byte
		null := fi < 0
		if !null {
			f = r.rec[r.starts[fi]:r.ends[fi]]
			null = (!r.quoted[fi] || r.o.CSV.QuotedNulls) && r.isNull(f)
		}
		if null {
			if !c.nullable {
				return false, r.badRecord(c.name, "null in non-nullable column")
			}
			r.cells[i] = cell{null: true}
			continue
		}
		if c.conv.kind >= kList {
			v, err := r.p.ParseBytes(fixLoneSurrogates(f, &c.scratch2))
			if err != nil {
				return false, r.badRecord(c.name, "invalid JSON in "+c.conv.kind.String()+" field: "+err.Error())
			}
			if err := c.conv.nestedJSON(nil, v, &c.scratch); err != nil {
				return false, r.badRecord(c.name, err.Error())
			}
			continue
		}
		if err := c.conv.fromText(f, &r.cells[i]); err != nil {
			return false, r.badRecord(c.name, err.Error())
		}
	}
	for i, c := range r.cols {
		if c.conv.kind >= kList {
			fi := r.mapping[i]
			f := []byte(nil)
			if fi >= 0 {
				f = r.rec[r.starts[fi]:r.ends[fi]]
			}
			if fi < 0 || ((!r.quoted[fi] || r.o.CSV.QuotedNulls) && r.isNull(f)) {
				c.b.AppendNull()
				continue
			}
			v, _ := r.p.ParseBytes(fixLoneSurrogates(f, &c.scratch2))
			_ = c.conv.nestedJSON(c.b, v, &c.scratch)
			continue
		}
		c.conv.appendCell(c.b, &r.cells[i])
	}
	return true, nil
}

func (r *csvReader) badRecord(col, reason string) error {
	return r.bad(BadRecord{
		Line:      r.recLine,
		Column:    col,
		Reason:    clipReason(reason),
		Raw:       bytes.Clone(r.rawSoFar()),
		Truncated: r.truncated,
	})
}
