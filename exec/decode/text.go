package decode

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// textReader is what the NDJSON and CSV readers share: their options, the
// line reader, the builders, and the state of Next and Close.
type textReader struct {
	o      Options
	lr     lineReader
	rb     *array.RecordBuilder
	cols   []*column
	sizer  batchSizer
	err    error
	closed bool
	// When the object is decompressed (deferBad), bad records wait in
	// pending until the stream has ended cleanly: a corrupt gzip stream
	// decompresses to garbage before the codec notices, and its lines are
	// not bad records of the object but symptoms of one unreadable object.
	// pendingBytes bounds them (see bad).
	deferBad     bool
	pending      []BadRecord
	pendingBytes int
}

// newTextReader is the shared part of a reader of o.
func newTextReader(o Options, rb *array.RecordBuilder, cols []*column) textReader {
	return textReader{o: o, rb: rb, cols: cols, lr: lineReader{max: o.MaxRecordBytes}}
}

// start begins an object read from src.
func (t *textReader) start(src io.Reader) {
	_, t.deferBad = src.(*codecReader)
	t.pending, t.pendingBytes = t.pending[:0], 0
}

// bad reports a bad record, or keeps it until the object's decompressed
// stream has ended (deferBad). Kept records are bounded by MaxRecordBytes
// in all: past that, they are reported, and so is every later one (a
// corrupt stream usually fails long before).
func (t *textReader) bad(r BadRecord) error {
	if !t.deferBad {
		return t.o.bad(r)
	}
	t.pending = append(t.pending, r)
	t.pendingBytes += len(r.Raw) + len(r.Reason) + 64
	if t.pendingBytes <= t.o.MaxRecordBytes {
		return nil
	}
	t.deferBad = false
	return t.flushBad()
}

// flushBad reports the kept bad records.
func (t *textReader) flushBad() error {
	pending := t.pending
	t.pending, t.pendingBytes = t.pending[:0], 0
	defer clear(pending)
	for _, p := range pending {
		if err := t.o.bad(p); err != nil {
			return err
		}
	}
	return nil
}

// ended is called when the object's stream has ended cleanly: the kept
// bad records are reported.
func (t *textReader) ended() error {
	t.deferBad = false
	return t.flushBad()
}

// tooLong is the bad record of a line longer than MaxRecordBytes, n bytes
// long, of which raw is the kept beginning.
func (t *textReader) tooLong(line int64, n int64, raw []byte) error {
	return t.bad(BadRecord{
		Line:      line,
		Reason:    tooLongReason(n, t.o.MaxRecordBytes, len(raw)),
		Raw:       bytes.Clone(raw),
		Truncated: true,
	})
}

func tooLongReason(n int64, max, kept int) string {
	return fmt.Sprintf("record of %d bytes is longer than the limit of %d bytes (max_record_bytes); raw holds its first %d bytes", n, max, kept)
}

// next is both readers' Next: a batch of the rows fill appends (up to
// o.BatchRows, builders reserved from the previous batch's size); an
// error, and then io.EOF, stay for every later call.
func (t *textReader) next(fill func(limit int) (int, error)) (arrow.RecordBatch, error) {
	if t.err != nil {
		return nil, t.err
	}
	if t.closed {
		return nil, fmt.Errorf("%s: decode: reader closed", t.o.Key)
	}
	t.sizer.reserve(t.cols, t.o.BatchRows)
	rows, err := fill(t.o.BatchRows)
	if err != nil {
		t.err = err
		return nil, err
	}
	if rows == 0 {
		t.err = io.EOF
		return nil, io.EOF
	}
	t.sizer.observe(t.cols, rows)
	return newBatch(t.rb, t.o.Schema, rows), nil
}

// end lets go of the current object's reader (objectDecoder).
func (t *textReader) end() { t.lr.reset(nil, 0) }

// builders are the shared builders (objectDecoder).
func (t *textReader) builders() (*array.RecordBuilder, []*column, *arrow.Schema) {
	return t.rb, t.cols, t.o.Schema
}

// Close releases the builders; it may be called more than once.
func (t *textReader) Close() error {
	if !t.closed {
		t.closed = true
		t.rb.Release()
	}
	return nil
}

// lineReader splits a stream into lines, counting them. A line longer than
// max is not buffered whole: its first TruncatedRawBytes are kept, the rest
// is read past (see cut), so a 1 GiB line of a decompression bomb costs
// max bytes of memory, not a gigabyte.
type lineReader struct {
	br   *bufio.Reader
	long []byte
	line int64 // number of the line last returned
	done bool
	max  int // longest line returned whole (Options.MaxRecordBytes)
	// cut is the length of the line last returned when it was longer than
	// max (only its first TruncatedRawBytes were returned), else 0.
	cut int64
	// quote, when not 0, is counted in the part of a cut line that was
	// dropped: quotes is the count (the CSV reader uses its parity to know
	// whether the line ended inside a quoted field).
	quote  byte
	quotes int
	// eol ends lines: '\n' ("\r\n" too), or '\r' for an object that
	// uses CR alone (see detectCR). crlf says the line last returned
	// ended with "\r\n".
	eol  byte
	crlf bool
}

// detectCR makes '\r' the line ending when the object's first line break is
// a CR not followed by LF (old Mac files; DuckDB reads them too): else the
// whole object would be one line.
func (l *lineReader) detectCR() {
	buf, _ := l.br.Peek(l.br.Size())
	if i := bytes.IndexAny(buf, "\r\n"); i >= 0 && buf[i] == '\r' && (i+1 == len(buf) || buf[i+1] != '\n') {
		l.eol = '\r'
	}
}

// reset starts reading a new object from src with a buffer of at least
// size bytes (reused when big enough); src nil lets go of the last one.
func (l *lineReader) reset(src io.Reader, size int) {
	if src != nil && (l.br == nil || l.br.Size() < size) {
		l.br = bufio.NewReaderSize(src, size)
	} else if l.br != nil {
		l.br.Reset(src)
	}
	l.line, l.done, l.long, l.cut, l.eol = 0, false, l.long[:0], 0, '\n'
}

// next returns the next line without its "\n" or "\r\n". The slice is valid
// until the next call. When the line is longer than l.max, only its first
// TruncatedRawBytes are returned and l.cut says how long it was.
func (l *lineReader) next() ([]byte, error) {
	if l.done {
		return nil, io.EOF
	}
	l.cut, l.quotes, l.crlf = 0, 0, false
	if l.eol == 0 {
		l.eol = '\n'
	}
	line, err := l.br.ReadSlice(l.eol)
	n := int64(len(line)) // the line's length, with its line ending
	cutting := false
	if err == bufio.ErrBufferFull {
		l.long = append(l.long[:0], line...)
		for err == bufio.ErrBufferFull {
			line, err = l.br.ReadSlice(l.eol)
			n += int64(len(line))
			if !cutting && len(l.long)+len(line) > l.max+2 { // +2: "\r\n" is not the line's
				// Too long: keep a prefix, and read past the rest as it
				// streams by.
				cutting = true
				l.countQuotes(l.long[l.keep():])
				l.long = l.long[:l.keep()]
			}
			if cutting {
				l.countQuotes(line)
				continue
			}
			if len(l.long)+len(line) > cap(l.long) {
				// Double, up to the limit: append's own growth (1.25x for
				// large slices) would allocate five times the final size.
				l.long = slices.Grow(l.long, min(max(2*cap(l.long), len(l.long)+len(line)), l.max+2)-len(l.long))
			}
			l.long = append(l.long, line...)
		}
		if cutting && err == nil {
			n-- // the line break
			if k := len(line); l.eol == '\n' && k >= 2 && line[k-2] == '\r' {
				n--
			}
		}
		line = l.long
	}
	if err != nil {
		if err != io.EOF {
			return nil, err
		}
		l.done = true
		if n == 0 {
			return nil, io.EOF
		}
	}
	l.line++
	if cutting {
		l.cut = n
		return line, nil
	}
	if k := len(line); k > 0 && line[k-1] == l.eol {
		line = line[:k-1]
		if k := len(line); k > 0 && line[k-1] == '\r' && l.eol == '\n' {
			line = line[:k-1]
			l.crlf = true
		}
	}
	if len(line) > l.max {
		l.countQuotes(line[l.keep():])
		l.cut = int64(len(line))
		line = line[:l.keep()]
	}
	return line, nil
}

// keep is how much of a line longer than max is kept.
func (l *lineReader) keep() int { return min(TruncatedRawBytes, l.max) }

func (l *lineReader) countQuotes(b []byte) {
	if l.quote != 0 {
		l.quotes += bytes.Count(b, []byte{l.quote})
	}
}
