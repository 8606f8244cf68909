package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/internal/s3test"
)

// `sluice apply` against a server that answers 503 SlowDown: a retried
// request is a log line and a figure in the summary (text and -json), and
// AWS_MAX_ATTEMPTS bounds the attempts — as counted at the server.
func TestApplyRetriesAtServer(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "lake")
	p := srv.Proxy(t)
	p.SetEnv(t)

	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	conf := filepath.Join(dir, "conf")
	for _, d := range []string{in, conf} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addInput := func(name string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(in, name), []byte("{\"id\":1}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := `
state {
  url = "` + filepath.Join(dir, "state") + `"
}
pipeline "p" {
  source "raw" {
    url    = "` + in + `/"
    format = "json"
    column "id" {
      type = "int64"
    }
  }
  sink "out" {
    url = "s3://lake/out/"
  }
}
`
	if err := os.WriteFile(filepath.Join(conf, "main.hcl"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	isCreate := func(r s3test.Request) bool { return r.Kind == s3test.KindCreateMultipartUpload }
	apply := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"apply", "-auto-approve"}, append(args, conf)...), strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}

	// One SlowDown, then the server answers: the run commits, and says it retried.
	addInput("a.json")
	p.SetFault(s3test.FirstN(1, isCreate, s3test.SlowDown))
	code, stdout, stderr := apply("-log-level", "debug")
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, stdout, stderr)
	}
	if got := p.CountWhere(isCreate); got != 2 {
		t.Errorf("CreateMultipartUpload requests at the server = %d, want 2 (one 503, one retry)", got)
	}
	if !strings.Contains(stdout, " Retried 1 S3 request.\n") {
		t.Errorf("the summary does not count the retry:\n%s", stdout)
	}
	// The command's logger carries the retry's line (info) and, at debug,
	// one line per request.
	if !strings.Contains(stderr, `level=DEBUG msg="S3 request" operation=CreateMultipartUpload`) {
		t.Errorf("no debug line per request:\n%s", stderr)
	}
	if !strings.Contains(stderr, `msg="retrying S3 request" operation=CreateMultipartUpload key=s3://lake/out/part-`) ||
		!strings.Contains(stderr, `attempt=2 max_attempts=5 error="server is throttling requests (503 SlowDown)"`) {
		t.Errorf("no log line for the retry:\n%s", stderr)
	}

	// The same with -json: the summary event carries the figure.
	addInput("b.json")
	p.Reset()
	p.SetFault(s3test.FirstN(1, isCreate, s3test.SlowDown))
	code, stdout, stderr = apply("-json")
	if code != 0 {
		t.Fatalf("apply -json: exit %d\n%s%s", code, stdout, stderr)
	}
	var summary struct {
		Type    string `json:"type"`
		Retries *int64 `json:"retries"`
	}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var ev struct {
			Type string `json:"type"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "summary" {
			if err := json.Unmarshal(sc.Bytes(), &summary); err != nil {
				t.Fatal(err)
			}
		}
	}
	if summary.Type != "summary" || summary.Retries == nil || *summary.Retries != 1 {
		t.Errorf("summary event retries = %v, want 1:\n%s", summary.Retries, stdout)
	}

	// AWS_MAX_ATTEMPTS=2 against a server that never recovers: exactly two
	// requests for the object, then the run fails saying so.
	t.Setenv("AWS_MAX_ATTEMPTS", "2")
	addInput("c.json")
	p.Reset()
	p.SetFault(func(r *http.Request) s3test.Fault {
		if isCreate(s3test.Classify(r)) {
			return s3test.SlowDown
		}
		return s3test.Fault{}
	})
	code, stdout, stderr = apply()
	if code != 1 {
		t.Fatalf("apply against a throttling server: exit %d, want 1\n%s%s", code, stdout, stderr)
	}
	if got := p.CountWhere(isCreate); got != 2 {
		t.Errorf("with AWS_MAX_ATTEMPTS=2, CreateMultipartUpload requests at the server = %d, want 2", got)
	}
	if !strings.Contains(stderr, "server is throttling requests (503 SlowDown) (after 2 attempts)") {
		t.Errorf("the error does not say why:\n%s", stderr)
	}
}
