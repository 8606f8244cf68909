package objstore_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/internal/s3test"
	"github.com/sluicedata/sluice/objstore"
)

// captureLog sends slog.Default() to a buffer for the test.
func captureLog(t *testing.T) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

// The attempts per request come from the SDK's own settings —
// AWS_MAX_ATTEMPTS, then the profile's max_attempts, else the default of
// 5 — as counted at the server: a PutObject answered 503 every time
// reaches it exactly that many times. Each retry is a log line and counts
// in the context's RetryCounter.
func TestS3RetrySettingsAtServer(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "retries")
	p := srv.Proxy(t)
	p.SetFault(func(r *http.Request) s3test.Fault {
		if s3test.Classify(r).Kind == s3test.KindPutObject {
			return s3test.SlowDown
		}
		return s3test.Fault{}
	})
	cfgDir := t.TempDir()
	profile := filepath.Join(cfgDir, "config")
	if err := os.WriteFile(profile, []byte("[profile three]\nmax_attempts = 3\n\n[profile adaptive]\nretry_mode = adaptive\nmax_attempts = 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want int
	}{
		{"default", nil, objstore.DefaultMaxAttempts},
		{"AWS_MAX_ATTEMPTS=2", map[string]string{"AWS_MAX_ATTEMPTS": "2"}, 2},
		{"AWS_MAX_ATTEMPTS=1", map[string]string{"AWS_MAX_ATTEMPTS": "1"}, 1},
		{"profile max_attempts=3", map[string]string{"AWS_CONFIG_FILE": profile, "AWS_PROFILE": "three"}, 3},
		{"AWS_MAX_ATTEMPTS beats the profile", map[string]string{"AWS_CONFIG_FILE": profile, "AWS_PROFILE": "three", "AWS_MAX_ATTEMPTS": "2"}, 2},
		{"profile retry_mode=adaptive", map[string]string{"AWS_CONFIG_FILE": profile, "AWS_PROFILE": "adaptive"}, 4},
		{"AWS_RETRY_MODE=adaptive", map[string]string{"AWS_RETRY_MODE": "adaptive", "AWS_MAX_ATTEMPTS": "3"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.SetEnv(t)
			for _, k := range []string{"AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE", "AWS_CONFIG_FILE"} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			log := captureLog(t)
			// The attempts are the configuration's; only the backoff is
			// shortened, so the default's five attempts take milliseconds.
			s := openS3(t, "retries", objstore.WithRetries(0, 20*time.Millisecond))
			if got := s.(*objstore.S3Store).MaxAttempts(); got != tc.want {
				t.Errorf("MaxAttempts = %d, want %d", got, tc.want)
			}
			p.Reset()
			var rc objstore.RetryCounter
			ctx := objstore.WithRetryCounter(context.Background(), &rc)
			_, err := s.Put(ctx, "dir/k", []byte("x"), objstore.PutOptions{})
			if got := p.Count(s3test.KindPutObject); got != tc.want {
				t.Errorf("PutObject requests at the server = %d, want %d", got, tc.want)
			}
			if err == nil || !strings.Contains(err.Error(), "s3://retries/dir/k: server is throttling requests (503 SlowDown)") {
				t.Errorf("error = %v", err)
			}
			if tc.want > 1 && !strings.Contains(err.Error(), "(after "+itoa(tc.want)+" attempts)") {
				t.Errorf("error does not count the attempts: %v", err)
			}
			if got := rc.Retries(); got != int64(tc.want-1) {
				t.Errorf("RetryCounter = %d, want %d", got, tc.want-1)
			}
			lines := strings.Split(strings.TrimSpace(log.String()), "\n")
			if tc.want == 1 {
				lines = lines[:0]
				if log.Len() != 0 {
					t.Errorf("a request without retries logged:\n%s", log)
				}
			}
			if len(lines) != tc.want-1 {
				t.Fatalf("%d log lines, want one per retry (%d):\n%s", len(lines), tc.want-1, log)
			}
			for i, l := range lines {
				for _, want := range []string{"level=INFO", `msg="retrying S3 request"`, "operation=PutObject", "key=s3://retries/dir/k",
					"attempt=" + itoa(i+2), "max_attempts=" + itoa(tc.want), `error="server is throttling requests (503 SlowDown)"`} {
					if !strings.Contains(l, want) {
						t.Errorf("log line %q lacks %s", l, want)
					}
				}
			}
		})
	}
	t.Run("bad AWS_RETRY_MODE", func(t *testing.T) {
		p.SetEnv(t)
		t.Setenv("AWS_RETRY_MODE", "sometimes")
		_, err := objstore.NewS3(context.Background(), "retries")
		if err == nil || !strings.Contains(err.Error(), "loading AWS configuration") {
			t.Fatalf("NewS3 with AWS_RETRY_MODE=sometimes: %v", err)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// An attempt that gets no answer within its deadline is cut off and
// retried: two PutObjects reach the server, the first held back longer
// than the deadline. A GetObject body that stops flowing fails the read
// instead of hanging.
func TestS3AttemptTimeouts(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "slow")
	p := srv.Proxy(t)
	p.SetEnv(t)
	log := captureLog(t)
	t.Setenv(objstore.TimeoutEnv, "300ms")
	s := openS3(t, "slow", objstore.WithRetries(3, 10*time.Millisecond))
	var rc objstore.RetryCounter
	ctx := objstore.WithRetryCounter(context.Background(), &rc)
	p.SetFault(s3test.FirstN(1, func(r s3test.Request) bool { return r.Kind == s3test.KindPutObject }, s3test.Fault{Delay: 2 * time.Second}))
	start := time.Now()
	if _, err := s.Put(ctx, "k", []byte("data"), objstore.PutOptions{}); err != nil {
		t.Fatalf("Put past one slow attempt: %v", err)
	}
	if el := time.Since(start); el > 1500*time.Millisecond {
		t.Errorf("Put took %v: the slow attempt was waited out", el)
	}
	if got := p.Count(s3test.KindPutObject); got != 2 {
		t.Errorf("PutObject requests at the server = %d, want 2", got)
	}
	if rc.Retries() != 1 || !strings.Contains(log.String(), "no answer from endpoint "+p.Endpoint()+" within 300ms") {
		t.Errorf("retries %d, log:\n%s", rc.Retries(), log)
	}

	// Every attempt slow: the error says so, naming the setting.
	p.SetFault(func(r *http.Request) s3test.Fault {
		if s3test.Classify(r).Kind == s3test.KindHeadObject {
			return s3test.Fault{Delay: time.Second}
		}
		return s3test.Fault{}
	})
	_, err := s.Head(ctx, "k")
	if err == nil || !strings.Contains(err.Error(), "within 300ms (after 3 attempts); SLUICE_S3_TIMEOUT raises the limit") {
		t.Errorf("Head with every attempt slow: %v", err)
	}

	// A body that stalls: headers at once, then nothing for 2s.
	p.SetFault(s3test.FirstN(1, func(r s3test.Request) bool { return r.Kind == s3test.KindGetObject }, s3test.Fault{BodyDelay: 2 * time.Second}))
	rcl, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	_, err = io.ReadAll(rcl)
	rcl.Close()
	if err == nil || !strings.Contains(err.Error(), "s3://slow/k: no answer from endpoint") || time.Since(start) > 1500*time.Millisecond {
		t.Errorf("reading a stalled body: %v after %v", err, time.Since(start))
	}
	// A slow reader is not a stalled connection.
	p.SetFault(nil)
	rcl, _, err = s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if b, err := io.ReadAll(rcl); err != nil || string(b) != "data" {
		t.Errorf("read after a pause: %q, %v", b, err)
	}
	rcl.Close()

	t.Setenv(objstore.TimeoutEnv, "soon")
	if _, err := objstore.NewS3(context.Background(), "slow"); err == nil || !strings.Contains(err.Error(), `SLUICE_S3_TIMEOUT="soon": not a positive duration`) {
		t.Errorf("NewS3 with SLUICE_S3_TIMEOUT=soon: %v", err)
	}
}
