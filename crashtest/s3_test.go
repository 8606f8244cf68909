package crashtest

import (
	"math/rand/v2"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/txn"
)

// s3Lake is smallLake in a bucket of a fresh gateway; the subprocesses
// reach it through env (the server's, or a proxy's).
func s3Lake(t *testing.T, srv *s3test.Server, bucket string, env []string) *lake {
	srv.CreateBucket(t, bucket)
	return smallLake(t, lakeOptions{
		srcURL: "s3://" + bucket + "/raw/", sinkURL: "s3://" + bucket + "/out/", stateURL: "s3://" + bucket + "/state/",
		env: env,
	})
}

func TestS3KillPoints(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	points := []string{"after-writing", "task-done:1", "after-committing", "after-complete:1", "after-manifest", "after-swap"}
	for i, point := range points {
		t.Run(point, func(t *testing.T) {
			l := s3Lake(t, srv, "kill"+string(rune('a'+i)), srv.Env())
			if r := l.apply(txn.KillEnv + "=" + point); r.code != 137 {
				t.Fatalf("apply: want 137, got %s", r)
			}
			l.drain(t)
			l.verify(t)
		})
	}
	n := 0
	randomKills(t, trials(t, 10), func(t *testing.T) *lake {
		n++
		return s3Lake(t, srv, "rnd"+itoa(n), srv.Env())
	})
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}

// TestS3Faults puts a proxy that fails about 5% of requests (500, 503
// SlowDown, a dropped connection, or a dropped answer after the server
// acted) between sluice and the gateway: the runs still finish, and the
// output has every row exactly once, as without faults.
func TestS3Faults(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	proxy := srv.Proxy(t)
	var injected atomic.Int64
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(uint64(rand.Int64()), 2))
	faults := []s3test.Fault{s3test.InternalError, s3test.SlowDown, s3test.DropConn, s3test.DropResponse}
	proxy.SetFault(func(r *http.Request) s3test.Fault {
		mu.Lock()
		defer mu.Unlock()
		if rng.IntN(100) >= 5 {
			return s3test.Fault{}
		}
		injected.Add(1)
		return faults[rng.IntN(len(faults))]
	})
	for i := 0; i < 3; i++ {
		l := s3Lake(t, srv, "faults"+itoa(i), proxy.Env())
		l.drain(t)
		l.verify(t)
	}
	if injected.Load() == 0 {
		t.Fatal("no fault was injected")
	}
	t.Logf("%d faults injected over %d requests", injected.Load(), len(proxy.Requests()))
}

// TestS3AmbiguousWrites drops the answer (after the server acted) to the
// first write of each conditional or completing kind: the lock PUT, the
// HEAD swap, a CompleteMultipartUpload, the journal. The retry meets its
// own earlier success (412, or a vanished upload) and must recognise it.
func TestS3AmbiguousWrites(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	cases := map[string]func(s3test.Request) bool{
		"lock": func(r s3test.Request) bool {
			return r.Kind == s3test.KindPutObject && strings.HasSuffix(r.Key, "/LOCK")
		},
		"head": func(r s3test.Request) bool {
			return r.Kind == s3test.KindPutObject && strings.HasSuffix(r.Key, "/HEAD")
		},
		"complete": func(r s3test.Request) bool { return r.Kind == s3test.KindCompleteMultipartUpload },
		"journal": func(r s3test.Request) bool {
			return r.Kind == s3test.KindPutObject && strings.Contains(r.Key, "/journal/")
		},
	}
	i := 0
	for name, match := range cases {
		i++
		t.Run(name, func(t *testing.T) {
			proxy := srv.Proxy(t)
			proxy.SetFault(s3test.FirstN(1, match, s3test.DropResponse))
			l := s3Lake(t, srv, "amb"+itoa(i), proxy.Env())
			r := l.apply()
			if r.code != 0 {
				t.Fatalf("apply with a dropped %s answer: %s", name, r)
			}
			if n := proxy.CountWhere(func(r s3test.Request) bool { return match(r) && r.Fault.DropResponse }); n != 1 {
				t.Fatalf("fault not injected (%d)", n)
			}
			l.drain(t)
			l.verify(t)
		})
	}
}

// A run killed after journaling COMMITTING is rolled forward by the next
// apply, and the manifest that apply writes for it carries the sink's
// encryption, ACL and tags (recorded in the journal), as the server sees
// the PUT: a roll-forward writes what the run would have.
func TestS3RollForwardKeepsSinkSettings(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	proxy := srv.Proxy(t)
	srv.CreateBucket(t, "settings")
	l := smallLake(t, lakeOptions{
		srcURL: "s3://settings/raw/", sinkURL: "s3://settings/out/", stateURL: "s3://settings/state/",
		env: proxy.Env(),
		sinkS3: `      sse        = "aws:kms"
      kms_key_id = "alias/lake"
      acl        = "bucket-owner-full-control"
      tags       = { team = "data" }`,
	})
	if r := l.apply(txn.KillEnv + "=after-committing"); r.code != 137 {
		t.Fatalf("apply: want 137, got %s", r)
	}
	killed := proxy.RequestsOf(s3test.KindCreateMultipartUpload)
	if len(killed) == 0 {
		t.Fatal("the killed run wrote no output")
	}
	// part-<run id>-<task>-<seq>.parquet
	fields := strings.Split(strings.TrimPrefix(path.Base(killed[0].Key), "part-"), "-")
	runID := strings.Join(fields[:len(fields)-2], "-")
	proxy.Reset()
	l.drain(t)
	l.verify(t)
	want := map[string]string{
		"X-Amz-Server-Side-Encryption":                "aws:kms",
		"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id": "alias/lake",
		"X-Amz-Acl":     "bucket-owner-full-control",
		"X-Amz-Tagging": "team=data",
		"Content-Type":  "application/json",
	}
	found := false
	for _, r := range proxy.RequestsOf(s3test.KindPutObject) {
		if !strings.HasPrefix(r.Key, "out/_sluice/commits/") {
			continue
		}
		found = found || r.Key == "out/_sluice/commits/"+runID+".manifest"
		for h, v := range want {
			if got := r.Header.Get(h); got != v {
				t.Errorf("manifest PUT %s: %s = %q, want %q", r.Key, h, got, v)
			}
		}
	}
	if !found {
		t.Errorf("the roll-forward wrote no manifest for the killed run %s", runID)
	}
}

// A source GET that keeps failing past the S3 client's own attempts fails
// its task; with -retries the task runs again and the run commits every
// row exactly once, the failed attempt's uploads aborted; without it the
// run fails and leaves nothing. The faults are the server's answers, seen
// at the proxy.
func TestS3TaskRetries(t *testing.T) {
	srv := s3test.Start(t)
	srv.SetEnv(t)
	for i, retries := range []string{"0", "2"} {
		t.Run("retries="+retries, func(t *testing.T) {
			// Every GET of one source object (the first one asked for).
			var mu sync.Mutex
			var target string
			isSourceGet := func(r s3test.Request) bool {
				if r.Kind != s3test.KindGetObject || !strings.HasPrefix(r.Key, "raw/") {
					return false
				}
				mu.Lock()
				defer mu.Unlock()
				if target == "" {
					target = r.Key
				}
				return r.Key == target
			}
			proxy := srv.Proxy(t)
			// Two attempts per request: the first two GETs fail one request
			// whole, so one task fails once.
			proxy.SetFault(s3test.FirstN(2, isSourceGet, s3test.SlowDown))
			l := s3Lake(t, srv, "retry"+itoa(i), append(proxy.Env(), "AWS_MAX_ATTEMPTS=2"))
			r := l.run(nil, "apply", "-auto-approve", "-retries", retries)
			if n := proxy.CountWhere(func(r s3test.Request) bool { return isSourceGet(r) && r.Fault.Status == 503 }); n != 2 {
				t.Fatalf("%d faults injected, want 2", n)
			}
			if retries == "0" {
				if r.code != 1 || !strings.Contains(r.stderr, "SlowDown") && !strings.Contains(r.stderr, "503") {
					t.Fatalf("apply without retries: %s", r)
				}
			} else {
				if r.code != 0 || !strings.Contains(r.stdout, "Retried 1 task") {
					t.Fatalf("apply with -retries: %s", r)
				}
			}
			l.drain(t)
			l.verify(t)
		})
	}
}
