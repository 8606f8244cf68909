package exec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/state"
)

// flakyStore fails the first failures GETs of key with err.
type flakyStore struct {
	objstore.Store
	key      string
	err      error
	mu       sync.Mutex
	failures int
	gets     int
}

func (s *flakyStore) Get(ctx context.Context, key string) (io.ReadCloser, objstore.ObjectInfo, error) {
	if key == s.key {
		s.mu.Lock()
		s.gets++
		fail := s.gets <= s.failures
		s.mu.Unlock()
		if fail {
			return nil, objstore.ObjectInfo{}, fmt.Errorf("%s: %w", key, s.err)
		}
	}
	return s.Store.Get(ctx, key)
}

// retryLake is two tasks, the second of whose inputs fails its first
// failures GETs with err.
func retryLake(t *testing.T, failures int, err error) (*lake, *Job, *flakyStore) {
	l := newLake(t)
	a := l.put("dt=2026-01-01/a.json", `{"id":"a1","amount":5}`+"\n", false)
	a.Partition = []any{"2026-01-01"}
	b1 := l.put("dt=2026-01-02/b1.json", `{"id":"b1","amount":7}`+"\n", false)
	b1.Partition = []any{"2026-01-02"}
	b2 := l.put("dt=2026-01-02/b2.json", `{"id":"b2","amount":8}`+"\n", false)
	b2.Partition = []any{"2026-01-02"}
	fs := &flakyStore{Store: l.src.Store, key: "dt=2026-01-02/b2.json", err: err, failures: failures}
	l.src.Store = fs
	job := orderJob(t, l, "", []Task{{Index: 0, Inputs: []Input{a}}, {Index: 1, Inputs: []Input{b1, b2}}})
	return l, job, fs
}

// A task that fails with storage trouble is run again (-retries): the run
// succeeds with every row once, the failed attempt's uploads are gone, and
// the retry is counted.
func TestTaskRetryRecovers(t *testing.T) {
	ctx := context.Background()
	l, job, fs := retryLake(t, 2, errors.New("connection reset by peer"))
	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2, Retries: 2, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if fs.gets != 3 || res.Retries["tasks"] != 2 {
		t.Fatalf("gets %d, retries %v", fs.gets, res.Retries)
	}
	if res.Stats.RowsIn != 3 || res.Stats.FilesRead != 3 {
		t.Fatalf("stats %+v", res.Stats)
	}
	ups, err := l.out.Store.ListUploads(ctx, "")
	if err != nil || len(ups) != len(res.Files) {
		t.Fatalf("pending uploads %v (want only the run's %d files), %v", ups, len(res.Files), err)
	}
	commit(t, l, res, state.New(objstore.NewLocal(filepath.Join(l.root, "state")), "", "p", "s"))
	want := "2026-01-01|a1|5,2026-01-02|b1|7,2026-01-02|b2|8"
	if got := strings.Join(l.readOutput(), ","); got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
}

// Without retries, or past them, the run fails and leaves nothing.
func TestTaskRetriesRunOut(t *testing.T) {
	ctx := context.Background()
	for _, retries := range []int{0, 1} {
		l, job, fs := retryLake(t, 5, errors.New("503 slow down"))
		_, err := Run(ctx, job, Options{Alloc: checked(t), Retries: retries, RetryBackoff: time.Millisecond})
		if err == nil || !strings.Contains(err.Error(), "503 slow down") || fs.gets != retries+1 {
			t.Fatalf("retries %d: err %v after %d GETs", retries, err, fs.gets)
		}
		if ups, _ := l.out.Store.ListUploads(ctx, ""); len(ups) != 0 {
			t.Fatalf("retries %d: uploads left %v", retries, ups)
		}
	}
}

// A failure no retry can mend (the input vanished) is not retried.
func TestPermanentFailureIsNotRetried(t *testing.T) {
	_, job, fs := retryLake(t, 5, objstore.ErrNotExist)
	_, err := Run(context.Background(), job, Options{Alloc: checked(t), Retries: 3, RetryBackoff: time.Millisecond})
	if err == nil || fs.gets != 1 {
		t.Fatalf("err %v after %d GETs", err, fs.gets)
	}
}
