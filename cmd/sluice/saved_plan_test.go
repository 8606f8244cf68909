package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A saved plan records the configuration directory it was made from
// (relative to where plan ran) and apply checks the plan against it: the
// README's `sluice plan -out next.plan pipelines && sluice apply next.plan`
// runs; a plan edited to write elsewhere (checksum recomputed) exits 5
// naming what differs; a plan applied where its configuration cannot be
// found exits 5 instead of running unchecked.
func TestSavedPlanIsCheckedAgainstItsConfiguration(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	for name, body := range map[string]string{
		"raw/a.json": `{"id":1}` + "\n",
		"pipelines/main.hcl": `
state { url = "../state" }
pipeline "p" {
  source "s" {
    url    = "../raw"
    format = "json"
    column "id" { type = "int64" }
  }
  sink "o" {
    url    = "../out"
    format = "json"
  }
}
`,
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sluice := func(args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		code := run(args, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String() + stderr.String()
	}
	if code, out := sluice("plan", "-out", "next.plan", "pipelines"); code != 0 {
		t.Fatalf("plan: %d\n%s", code, out)
	}
	evil := filepath.Join(root, "evil")
	editPlan(t, "next.plan", "evil.plan", filepath.Join(root, "out"), evil)
	code, out := sluice("apply", "evil.plan")
	if code != 5 || !strings.Contains(out, `sink.url: the plan has "`+evil+`"`) {
		t.Fatalf("edited plan: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(evil); !os.IsNotExist(err) {
		t.Fatalf("the edited plan wrote to %s", evil)
	}
	// Applied from elsewhere: pipelines/ is not there.
	t.Chdir(filepath.Join(root, "raw"))
	code, out = sluice("apply", "../next.plan")
	if code != 5 || !strings.Contains(out, "cannot check the plan against its configuration: it was made from pipelines") {
		t.Fatalf("orphaned plan: exit %d\n%s", code, out)
	}
	t.Chdir(root)
	if code, out := sluice("apply", "next.plan"); code != 0 || !strings.Contains(out, "1 row out") {
		t.Fatalf("untouched plan: exit %d\n%s", code, out)
	}
}

// editPlan rewrites a plan file's text and recomputes its SHA-256 trailer,
// as anyone can.
func editPlan(t *testing.T, from, to, old, repl string) {
	t.Helper()
	f, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
	body := strings.ReplaceAll(strings.Join(lines[:len(lines)-1], "\n")+"\n", old, repl)
	sum := sha256.Sum256([]byte(body))
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, "%s{\"sha256\":%q}\n", body, hex.EncodeToString(sum[:]))
	zw.Close()
	if err := os.WriteFile(to, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
