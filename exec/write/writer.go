package write

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/hive"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// Options configure one Writer (one task's output to one sink).
type Options struct {
	Store  objstore.Store
	Prefix string // the sink's prefix inside Store: "" or ending in "/"
	Format spec.Format
	// Compression: parquet snappy (default) | zstd | gzip | none;
	// csv and json gzip | zstd | none (default), named .csv.gz, .json.zst, ...
	Compression spec.Compression
	// PartitionBy names columns of the input batches that become path
	// levels, in order; they are written in the path only, not in the files.
	PartitionBy []string
	// PartitionNames are the keys of those path levels (and of
	// File.Partition); nil: PartitionBy. An Iceberg table's writer passes
	// its partition fields' names, its batches holding the computed
	// values under other names.
	PartitionNames []string
	// TypedPartitions keeps a null partition value apart from the empty
	// string (both name the default directory) and records each file's
	// exact values in File.Values: an Iceberg table commits them.
	TypedPartitions bool
	// TargetFileSize: a file is finished and a new one started when the
	// current one reaches about this many bytes (<= 0: never roll).
	TargetFileSize int64
	// RowGroupSize (parquet): target uncompressed bytes per row group
	// (<= 0: 64 MiB).
	RowGroupSize int64
	CSV          spec.CSVOptions
	// RunID and Task name the files: part-<run id>-<task, 5 digits>-<seq, 5 digits>.<ext>.
	RunID string
	Task  int
	// Version is the sluice version recorded in Parquet key-value metadata.
	Version string
	// Object are the sink's object settings (S3 encryption, storage class,
	// ACL, tags) each file is created with; the writer adds the content
	// type and encoding of the format (ContentType).
	Object objstore.ObjectOptions
	Alloc  memory.Allocator // nil: memory.DefaultAllocator
	Budget *Budget          // shared across the writers of a process; nil: unbounded
}

// File is one output file, written and Finished but not yet visible.
//
// It is plain data (JSON): a task run in another process reports its files
// in a record (exec.TaskResult).
type File struct {
	Key string `json:"key"` // full key inside the Store
	// Partition holds the raw (unescaped) partition values by column; a null
	// or empty value is hive.DefaultPartition.
	Partition     map[string]string `json:"partition,omitempty"`
	PartitionPath string            `json:"partition_path,omitempty"` // "k=v/…/" as in the key, "" when unpartitioned
	// Values, with Options.TypedPartitions, are the file's partition
	// values in PartitionBy order, rendered as for the path but unescaped
	// and with "" kept; nil is null.
	Values []*string              `json:"values,omitempty"`
	Rows   int64                  `json:"rows"`
	Bytes  int64                  `json:"bytes"`
	Upload objstore.PendingUpload `json:"upload"`
}

// Parquet key-value metadata keys written into every Parquet file.
const (
	MetaVersion = "sluice.version"
	MetaRunID   = "sluice.run_id"
)

// Writer writes one task's batches to the files of one sink.
//
// Ownership: Write never takes ownership of the batch it is given; it
// retains (slices) or copies (the partition gather) what it keeps and
// releases it before returning, since the encoders copy values into their
// own buffers. Close returns Files that hold plain data only.
//
// File naming: part-<run id>-<task>-<seq>.<ext>, seq counting the files of
// this Writer from 1 across all its partitions, so names are unique per
// task without coordination. A partition gets a new file (next seq) when its
// current one reaches TargetFileSize.
//
// A Writer is not safe for concurrent use; it shares nothing with other
// Writers but the Budget, so tasks can run in separate processes.
type Writer struct {
	o      Options
	in     *arrow.Schema
	out    *arrow.Schema // in without the partition columns
	keep   []int         // column indices of in that go into files
	pidx   []int         // column indices of the partition columns
	ext    string
	pq     *parquetConfig
	text   *textConfig
	alloc  memory.Allocator
	files  map[string]*openFile // open file by partition key
	order  []*openFile          // open files in opening order (deterministic Close)
	done   []File
	seq    int
	failed error
	closed bool

	// Running totals that turn byte targets into row counts.
	rowsSeen, rawSeen        int64 // uncompressed bytes per row
	rawFlushed, bytesFlushed int64 // parquet compression ratio, closed row groups
	textIn, textOut          int64 // text compression ratio, finished files
	textRows, textBytes      int64 // uncompressed text bytes per row
}

// openFile is one file being written.
type openFile struct {
	owner     *Writer
	key       string
	partition map[string]string
	values    []*string
	ppath     string
	up        objstore.Upload
	cw        *countingWriter
	enc       encoder
	rows      int64
	flushReq  atomic.Bool
}

// encoder is one file's format.
type encoder interface {
	// write encodes rec (the output schema, no partition columns).
	write(rec arrow.RecordBatch) error
	// size estimates the bytes of the finished file if it ended now.
	size() int64
	// bytesPerRow estimates what one more row adds to size.
	bytesPerRow() float64
	// buffered is the bytes held in memory that a flush would release.
	buffered() int64
	// flush writes buffered data to the upload (parquet: closes the row group).
	flush() error
	// close writes the trailer (footer, compressor end).
	close() error
}

// New returns a Writer for batches of schema. The partition columns must be
// in schema and have scalar types.
func New(ctx context.Context, schema *arrow.Schema, o Options) (*Writer, error) {
	if o.Store == nil {
		return nil, errors.New("write: no store")
	}
	if o.Prefix != "" && !strings.HasSuffix(o.Prefix, "/") {
		return nil, fmt.Errorf("write: prefix %q must end in /", o.Prefix)
	}
	if o.RunID == "" {
		return nil, errors.New("write: no run id")
	}
	if o.RowGroupSize <= 0 {
		o.RowGroupSize = 64 << 20
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.PartitionNames == nil {
		o.PartitionNames = o.PartitionBy
	}
	if len(o.PartitionNames) != len(o.PartitionBy) {
		return nil, fmt.Errorf("write: %d partition names for %d partition columns", len(o.PartitionNames), len(o.PartitionBy))
	}
	w := &Writer{o: o, in: schema, files: map[string]*openFile{}, alloc: o.Alloc}
	if w.alloc == nil {
		w.alloc = memory.DefaultAllocator
	}
	isPart := map[int]bool{}
	for _, name := range o.PartitionBy {
		idx := schema.FieldIndices(name)
		if len(idx) != 1 {
			return nil, fmt.Errorf("write: partition column %q: found %d times in the schema", name, len(idx))
		}
		if isPart[idx[0]] {
			return nil, fmt.Errorf("write: partition column %q named twice", name)
		}
		if err := checkPartitionType(schema.Field(idx[0]).Type); err != nil {
			return nil, fmt.Errorf("write: partition column %q: %w", name, err)
		}
		isPart[idx[0]] = true
		w.pidx = append(w.pidx, idx[0])
	}
	var fields []arrow.Field
	for i, f := range schema.Fields() {
		if !isPart[i] {
			w.keep = append(w.keep, i)
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return nil, errors.New("write: every column is a partition column; the files would have no columns")
	}
	w.out = arrow.NewSchema(fields, nil)
	w.rawSeen, w.rowsSeen = schemaRowEstimate(w.out), 1

	var err error
	switch o.Format {
	case spec.FormatParquet:
		w.pq, err = newParquetConfig(w.out, o, w.alloc)
		w.ext = ".parquet"
	case spec.FormatCSV, spec.FormatJSON:
		w.text, err = newTextConfig(w.out, o)
		if err == nil {
			w.ext = w.text.ext
		}
	default:
		err = fmt.Errorf("write: unknown format %d", int(o.Format))
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}

// ContentType is the Content-Type and Content-Encoding of an output file
// of format written with codec. Parquet compresses inside the file, so its
// objects have no encoding; a gzip or zstd CSV or NDJSON object is that
// text with a content coding (HTTP's gzip and zstd), as "name.csv.gz"
// says. A client that decodes content codings by itself (a browser, curl
// --compressed) then reads the text; sluice and the AWS SDKs read the
// bytes as stored.
func ContentType(format spec.Format, codec spec.Compression) (contentType, encoding string) {
	switch format {
	case spec.FormatParquet:
		return "application/vnd.apache.parquet", ""
	case spec.FormatCSV:
		contentType = "text/csv"
	case spec.FormatJSON:
		contentType = "application/x-ndjson"
	default:
		return "application/octet-stream", ""
	}
	switch codec {
	case spec.CompressionGzip:
		encoding = "gzip"
	case spec.CompressionZstd:
		encoding = "zstd"
	}
	return contentType, encoding
}

// OutputSchema is the schema of the files: the input without the partition columns.
func (w *Writer) OutputSchema() *arrow.Schema { return w.out }

// Write routes the rows of b to the files of their partitions. It does not
// take ownership of b (it retains what it keeps). After an error the Writer
// is unusable: call Abort.
func (w *Writer) Write(ctx context.Context, b arrow.RecordBatch) error {
	if w.failed != nil {
		return w.failed
	}
	if w.closed {
		return errors.New("write: Write after Close")
	}
	if err := w.write(ctx, b); err != nil {
		w.failed = err
		return err
	}
	return nil
}

func (w *Writer) write(ctx context.Context, b arrow.RecordBatch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.checkSchema(b.Schema()); err != nil {
		return err
	}
	// Flush what other writers asked this one to flush for the budget.
	for _, f := range w.order {
		if f.flushReq.Swap(false) {
			if err := w.flushFile(f); err != nil {
				return err
			}
		}
	}
	n := int(b.NumRows())
	if n == 0 {
		return nil
	}
	cols := make([]arrow.Array, len(w.keep))
	for i, c := range w.keep {
		cols[i] = b.Column(c)
	}
	out := array.NewRecordBatch(w.out, cols, b.NumRows())
	defer out.Release()
	if w.pq != nil {
		w.pq.decideDictionaries(out)
	}
	w.rowsSeen += out.NumRows()
	w.rawSeen += recordRawSize(out)

	if len(w.pidx) == 0 {
		return w.writePart(ctx, "", nil, nil, out)
	}
	pc := make([]column, len(w.pidx))
	for i, c := range w.pidx {
		pc[i] = newColumn(b.Column(c))
	}
	// Runs of equal partition values: the usual input holds one or a few
	// partitions in long runs, which become zero-copy slices; interleaved
	// input pays for one gather (Take) per column, then is sliced too. Only
	// run starts are rendered, and rows are compared on typed values.
	type group struct {
		key   string
		vals  []string
		raw   []*string // TypedPartitions: exact values, nil for null
		runs  [][2]int
		nrows int
	}
	var groups []*group
	byKey := map[string]*group{}
	nruns := 0
	for start := 0; start < n; {
		end := start + 1
	run:
		for ; end < n; end++ {
			for _, c := range pc {
				if !c.eq(start, end) {
					break run
				}
			}
		}
		vals := make([]string, len(pc))
		for i, c := range pc {
			vals[i] = c.render(start)
		}
		key := groupKey(vals)
		var raw []*string
		if w.o.TypedPartitions {
			raw = make([]*string, len(pc))
			for i, c := range pc {
				raw[i] = c.raw(start)
			}
			key = typedKey(raw)
		}
		g := byKey[key]
		if g == nil {
			g = &group{key: key, vals: vals, raw: raw}
			byKey[key] = g
			groups = append(groups, g)
		}
		g.runs = append(g.runs, [2]int{start, end})
		g.nrows += end - start
		nruns++
		start = end
	}
	if len(groups) == 1 {
		return w.writePart(ctx, groups[0].key, groups[0].vals, groups[0].raw, out)
	}
	if nruns <= 2*len(groups) || n/nruns >= 64 {
		for _, g := range groups {
			for _, r := range g.runs {
				s := out.NewSlice(int64(r[0]), int64(r[1]))
				err := w.writePart(ctx, g.key, g.vals, g.raw, s)
				s.Release()
				if err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Interleaved: one gather per column puts each partition's rows
	// together (in input order), then each partition is one slice.
	order := make([][2]int, 0, nruns)
	for _, g := range groups {
		order = append(order, g.runs...)
	}
	sorted, err := w.gather(ctx, out, order)
	if err != nil {
		return err
	}
	defer sorted.Release()
	off := int64(0)
	for _, g := range groups {
		s := sorted.NewSlice(off, off+int64(g.nrows))
		err := w.writePart(ctx, g.key, g.vals, g.raw, s)
		s.Release()
		if err != nil {
			return err
		}
		off += int64(g.nrows)
	}
	return nil
}

// groupKey identifies a partition by its rendered values (length-prefixed,
// so no value can fake a separator).
func groupKey(vals []string) string {
	var b strings.Builder
	for _, v := range vals {
		b.WriteString(strconv.Itoa(len(v)))
		b.WriteByte(':')
		b.WriteString(v)
	}
	return b.String()
}

// typedKey identifies a partition by its exact values, null apart.
func typedKey(vals []*string) string {
	var b strings.Builder
	for _, v := range vals {
		if v == nil {
			b.WriteString("N;")
			continue
		}
		b.WriteString(strconv.Itoa(len(*v)))
		b.WriteByte(':')
		b.WriteString(*v)
	}
	return b.String()
}

// gather copies the rows of runs, in that order, out of rec with Take.
func (w *Writer) gather(ctx context.Context, rec arrow.RecordBatch, runs [][2]int) (arrow.RecordBatch, error) {
	ib := array.NewInt32Builder(w.alloc)
	defer ib.Release()
	ib.Reserve(int(rec.NumRows()))
	for _, r := range runs {
		for i := r[0]; i < r[1]; i++ {
			ib.UnsafeAppend(int32(i))
		}
	}
	idx := ib.NewArray()
	defer idx.Release()
	cctx := compute.WithAllocator(ctx, w.alloc)
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		t, err := compute.TakeArray(cctx, c, idx)
		if err != nil {
			return nil, fmt.Errorf("write: partition split of column %q: %w", rec.ColumnName(i), err)
		}
		cols[i] = t
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(idx.Len())), nil
}

func (w *Writer) checkSchema(s *arrow.Schema) error {
	if s.NumFields() != w.in.NumFields() {
		return fmt.Errorf("write: batch has %d columns, the writer was made for %d", s.NumFields(), w.in.NumFields())
	}
	for i, f := range s.Fields() {
		g := w.in.Field(i)
		if f.Name != g.Name || !arrow.TypeEqual(f.Type, g.Type) {
			return fmt.Errorf("write: batch column %d is %s %s, the writer was made for %s %s", i, f.Name, f.Type, g.Name, g.Type)
		}
	}
	return nil
}

// learnRows bounds the first chunk a text writer encodes while its bytes
// per row are still a guess from the Arrow width.
const learnRows = 256

// writePart writes rec to the open file of one partition, starting and
// finishing files so that each ends near TargetFileSize.
func (w *Writer) writePart(ctx context.Context, key string, vals []string, raw []*string, rec arrow.RecordBatch) error {
	n := rec.NumRows()
	for off := int64(0); off < n; {
		f := w.files[key]
		if f == nil {
			var err error
			if f, err = w.open(ctx, key, vals, raw); err != nil {
				return err
			}
		}
		k := n - off
		if t := w.o.TargetFileSize; t > 0 {
			room := int64(float64(t-f.enc.size())/f.enc.bytesPerRow()) + 1
			if g, ok := f.enc.(interface{ guessing() bool }); ok && g.guessing() {
				room = min(room, learnRows) // learn the real width first
			}
			if room < k {
				k = max(room, 1)
			}
		}
		var err error
		if off == 0 && k == n {
			err = f.enc.write(rec)
		} else {
			s := rec.NewSlice(off, off+k)
			err = f.enc.write(s)
			s.Release()
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", f.key, err)
		}
		f.rows += k
		off += k
		if err := w.account(f); err != nil {
			return err
		}
		if t := w.o.TargetFileSize; t > 0 && f.enc.size() >= t {
			if err := w.finish(ctx, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// account reports f's buffer to the budget and flushes, largest first,
// while the budget is exceeded.
func (w *Writer) account(f *openFile) error {
	b := w.o.Budget
	if b == nil {
		return nil
	}
	if !b.set(f, f.enc.buffered()) {
		return nil
	}
	for {
		v := b.pick(w)
		if v == nil {
			return nil
		}
		if err := w.flushFile(v); err != nil {
			return err
		}
		b.flushes.Add(1)
	}
}

func (w *Writer) flushFile(f *openFile) error {
	if err := f.enc.flush(); err != nil {
		return fmt.Errorf("write %s: %w", f.key, err)
	}
	if w.o.Budget != nil {
		w.o.Budget.set(f, f.enc.buffered())
	}
	return nil
}

// open starts the next file of a partition.
func (w *Writer) open(ctx context.Context, key string, vals []string, raw []*string) (*openFile, error) {
	w.seq++
	var ppath string
	var part map[string]string
	if len(w.pidx) > 0 {
		ppath = hive.Dir(w.o.PartitionNames, vals)
		part = make(map[string]string, len(vals))
		for i, k := range w.o.PartitionNames {
			part[k] = vals[i]
		}
	}
	name := fmt.Sprintf("part-%s-%05d-%05d%s", w.o.RunID, w.o.Task, w.seq, w.ext)
	objKey := w.o.Prefix + ppath + name
	obj := w.o.Object
	obj.ContentType, obj.ContentEncoding = ContentType(w.o.Format, w.o.Compression)
	up, err := w.o.Store.NewUpload(ctx, objKey, obj)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", objKey, err)
	}
	f := &openFile{owner: w, key: objKey, partition: part, values: raw, ppath: ppath, up: up, cw: &countingWriter{w: up}}
	// Registered before the encoder starts so that Abort covers it.
	w.files[key] = f
	w.order = append(w.order, f)
	if w.pq != nil {
		f.enc, err = w.pq.newFile(w, f.cw)
	} else {
		f.enc, err = w.text.newFile(w, f.cw)
	}
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", objKey, err)
	}
	return f, nil
}

// finish ends a file: trailer written, upload Finished (pending, invisible).
func (w *Writer) finish(ctx context.Context, f *openFile) error {
	if err := f.enc.close(); err != nil {
		return fmt.Errorf("write %s: %w", f.key, err)
	}
	if w.o.Budget != nil {
		w.o.Budget.set(f, 0)
	}
	if f.cw.err != nil {
		return fmt.Errorf("write %s: %w", f.key, f.cw.err)
	}
	pu, err := f.up.Finish(ctx)
	if err != nil {
		return fmt.Errorf("write %s: finish upload: %w", f.key, err)
	}
	w.removeOpen(f)
	w.done = append(w.done, File{
		Key: f.key, Partition: f.partition, PartitionPath: f.ppath, Values: f.values,
		Rows: f.rows, Bytes: f.cw.n, Upload: pu,
	})
	return nil
}

func (w *Writer) removeOpen(f *openFile) {
	for k, g := range w.files {
		if g == f {
			delete(w.files, k)
		}
	}
	for i, g := range w.order {
		if g == f {
			w.order = append(w.order[:i], w.order[i+1:]...)
			break
		}
	}
}

// FinishOpen finishes every open file, as Close does, but leaves the
// Writer open: rows written after it start new files (the next seq). A
// caller that knows no more rows will come for the partitions written so
// far calls it to release their buffers now rather than at Close.
func (w *Writer) FinishOpen(ctx context.Context) error {
	if w.failed != nil {
		return w.failed
	}
	if w.closed {
		return errors.New("write: FinishOpen after Close")
	}
	for len(w.order) > 0 {
		if err := w.finish(ctx, w.order[0]); err != nil {
			w.failed = err
			return err
		}
	}
	return nil
}

// Close finishes every open file and returns all files written, in the
// order they were finished. The uploads are Finished, not completed: nothing
// is visible until the committer completes them. Zero rows give zero files.
func (w *Writer) Close(ctx context.Context) ([]File, error) {
	if w.failed != nil {
		return nil, w.failed
	}
	if w.closed {
		return w.done, nil
	}
	for len(w.order) > 0 {
		if err := w.finish(ctx, w.order[0]); err != nil {
			w.failed = err
			return nil, err
		}
	}
	w.closed = true
	return w.done, nil
}

// Abort discards every upload this Writer started, open or Finished
// (including those Close returned). It releases the encoders' memory and
// tries every upload even when one fails, returning the errors joined.
func (w *Writer) Abort(ctx context.Context) error {
	var errs []error
	for _, f := range w.order {
		// Closing the encoder releases its buffers; what it would still
		// write (row groups, footer) goes nowhere.
		f.cw.discard = true
		_ = f.enc.close()
		if w.o.Budget != nil {
			w.o.Budget.set(f, 0)
		}
		if err := f.up.Abort(ctx); err != nil {
			errs = append(errs, fmt.Errorf("write: abort %s: %w", f.key, err))
		}
	}
	w.files, w.order = map[string]*openFile{}, nil
	for _, d := range w.done {
		if err := w.o.Store.AbortUpload(ctx, d.Upload); err != nil && !errors.Is(err, objstore.ErrNotExist) {
			errs = append(errs, fmt.Errorf("write: abort %s: %w", d.Key, err))
		}
	}
	w.done = nil
	w.closed = true
	if w.failed == nil {
		w.failed = errors.New("write: aborted")
	}
	return errors.Join(errs...)
}

// countingWriter counts the bytes that reach the upload. It deliberately
// has no Close: pqarrow closes writers that have one, and the upload must
// only be Finished or Aborted.
type countingWriter struct {
	w       io.Writer
	n       int64
	err     error
	discard bool // aborting: drop everything
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.discard {
		return len(p), nil
	}
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}
