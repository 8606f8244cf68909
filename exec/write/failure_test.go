package write

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

var errDiskFull = errors.New("disk full")

// failingStore's uploads fail once more than limit bytes were written.
type failingStore struct {
	objstore.Store
	limit int64
}

type failingUpload struct {
	objstore.Upload
	left int64
}

func (s failingStore) NewUpload(ctx context.Context, key string, opts objstore.ObjectOptions) (objstore.Upload, error) {
	u, err := s.Store.NewUpload(ctx, key, opts)
	if err != nil {
		return nil, err
	}
	return &failingUpload{Upload: u, left: s.limit}, nil
}

func (u *failingUpload) Write(p []byte) (int, error) {
	if int64(len(p)) > u.left {
		return 0, errDiskFull
	}
	u.left -= int64(len(p))
	return u.Upload.Write(p)
}

func TestUploadFailure(t *testing.T) {
	for _, f := range []spec.Format{spec.FormatParquet, spec.FormatJSON} {
		mem := checked(t)
		local := newStore(t)
		st := failingStore{Store: local, limit: 64 << 10}
		ctx := context.Background()
		o := baseOptions(st, f, mem)
		o.RowGroupSize = 32 << 10
		w, err := New(ctx, wideSchema(), o)
		if err != nil {
			t.Fatal(err)
		}
		var werr error
		for start := 0; start < 20000 && werr == nil; start += 1000 {
			rec := wideBatch(mem, wideSchema(), start, 1000)
			werr = w.Write(ctx, rec)
			rec.Release()
		}
		if werr == nil {
			_, werr = w.Close(ctx)
		}
		if !errors.Is(werr, errDiskFull) || !strings.Contains(werr.Error(), "out/part-") {
			t.Fatalf("error %v: want the upload's error, naming the key", werr)
		}
		if _, err := w.Close(ctx); err == nil {
			t.Fatal("Close after a failure succeeded")
		}
		if err := w.Abort(ctx); err != nil {
			t.Fatal(err)
		}
		if ups, err := local.ListUploads(ctx, ""); err != nil || len(ups) != 0 {
			t.Fatalf("pending uploads after Abort: %v %v", ups, err)
		}
	}
}
