package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ObjectReader reads one object of known size by ranged GETs: every ReadAt
// is one GetRange. It is an io.ReaderAt, io.ReadSeeker and has Size, which
// is what a Parquet reader needs to read a footer and then column chunks
// without fetching the whole object. Buffering and coalescing of ranges
// belong to the caller, which knows which ranges it will want.
//
// ReadAt is safe for concurrent use; Read and Seek share one offset and are
// not.
type ObjectReader struct {
	ctx  context.Context
	s    Store
	key  string
	size int64
	off  int64
}

// NewReaderAt returns a reader of key, whose size the caller already knows
// (from a listing), so no HEAD is made.
func NewReaderAt(ctx context.Context, s Store, key string, size int64) *ObjectReader {
	return &ObjectReader{ctx: ctx, s: s, key: key, size: size}
}

// Size is the object's size.
func (r *ObjectReader) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt.
func (r *ObjectReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s/%s: negative offset %d", r.s.URL(), r.key, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.size-off)
	if want == 0 {
		return 0, nil
	}
	rc, err := r.s.GetRange(r.ctx, r.key, off, want)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, p[:want])
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			// The object is shorter than the size we were given: it was
			// replaced since it was listed.
			return n, fmt.Errorf("%s/%s: object shorter than its listed size %d (changed since listed?): %w",
				r.s.URL(), r.key, r.size, io.ErrUnexpectedEOF)
		}
		return n, err
	}
	if int64(n) < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// Read implements io.Reader.
func (r *ObjectReader) Read(p []byte) (int, error) {
	if r.off >= r.size {
		return 0, io.EOF
	}
	n, err := r.ReadAt(p, r.off)
	r.off += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

// Seek implements io.Seeker.
func (r *ObjectReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("seek: invalid whence %d", whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("%s/%s: seek to negative offset %d", r.s.URL(), r.key, abs)
	}
	r.off = abs
	return abs, nil
}
