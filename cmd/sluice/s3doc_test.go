package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/s3test"
)

// The AWS documentation's example keys, which docs/s3.md uses: the
// gateways of TestS3Doc run with them, so the page's commands and files
// hold real credentials for the test and only placeholders for a reader.
const (
	docAccessKey = "AKIAIOSFODNN7EXAMPLE"
	docSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// docBlock is one fenced block of a markdown page.
type docBlock struct {
	lang string
	body string
}

func docBlocks(page string) []docBlock {
	var out []docBlock
	lines := strings.Split(page, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok || lang == "" {
			continue
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		out = append(out, docBlock{lang, strings.Join(body, "\n") + "\n"})
	}
	return out
}

// TestS3Doc runs docs/s3.md: every sh block, in order, each in a fresh
// shell (so each is self-contained, as a reader would copy it) with the
// sluice under test on PATH, against two Versity gateways on loopback —
// plain http where the page says 127.0.0.1:9000, TLS with a private CA
// where it says 127.0.0.1:9443 (the test puts the real ports in place of
// those, and the CA where the page's AWS_CA_BUNDLE points). The page's
// files (hcl and ini blocks whose first line is "# PATH", ~ being the
// shell's HOME) are written first. A text block right after an sh block
// holds lines its output must contain; json blocks must parse. Nothing
// but loopback is reachable: HTTP(S)_PROXY point at a closed port, which
// Go's client uses for every host but loopback.
func TestS3Doc(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("docs/s3.md's commands need a POSIX shell")
	}
	if _, err := exec.LookPath("sluice"); err != nil {
		t.Fatalf("sluice is not on PATH (TestMain puts the test binary there): %v", err)
	}
	raw, err := os.ReadFile("../../docs/s3.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := docBlocks(string(raw))

	plain := s3test.StartWith(t, s3test.Options{AccessKey: docAccessKey, SecretKey: docSecretKey})
	tlsSrv := s3test.StartWith(t, s3test.Options{AccessKey: docAccessKey, SecretKey: docSecretKey, TLS: true})
	ctx := context.Background()
	for _, srv := range []*s3test.Server{plain, tlsSrv} {
		srv.CreateBucket(t, "lake")
		srv.CreateBucket(t, "lake-state")
		for key, body := range map[string]string{
			"raw/orders/dt=2026-01-01/part-1.json": `{"order_id":"o-1","amount":12.5}` + "\n" + `{"order_id":"o-2","amount":3}` + "\n",
			"raw/orders/dt=2026-01-02/part-1.json": `{"order_id":"o-3","amount":7.25}` + "\n",
		} {
			if _, err := srv.Client().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lake"), Key: aws.String(key), Body: strings.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	hostport := func(endpoint string) string {
		u, err := url.Parse(endpoint)
		if err != nil {
			t.Fatal(err)
		}
		return u.Host
	}
	subst := strings.NewReplacer("127.0.0.1:9000", hostport(plain.Endpoint()), "127.0.0.1:9443", hostport(tlsSrv.Endpoint()))

	home, work := t.TempDir(), t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(tlsSrv.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "private-ca.pem"), ca, 0o600); err != nil {
		t.Fatal(err)
	}
	files := 0
	for _, b := range blocks {
		if b.lang != "hcl" && b.lang != "ini" {
			continue
		}
		first, _, _ := strings.Cut(b.body, "\n")
		name, ok := strings.CutPrefix(first, "# ")
		if !ok {
			continue
		}
		path := filepath.Join(work, name)
		if rest, ok := strings.CutPrefix(name, "~/"); ok {
			path = filepath.Join(home, rest)
		}
		// Blocks naming one file (two parts of ~/.aws/config) add up.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(subst.Replace(b.body) + "\n")
		f.Close()
		files++
	}
	if files < 4 {
		t.Fatalf("found %d files in docs/s3.md; the page's format changed?", files)
	}

	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home,
		// Test safety, not part of the page: no metadata service, and a
		// dead proxy for any host that is not loopback.
		"AWS_EC2_METADATA_DISABLED=true", "HTTP_PROXY=http://127.0.0.1:1", "HTTPS_PROXY=http://127.0.0.1:1",
	}
	ran := 0
	for i, b := range blocks {
		switch b.lang {
		case "json":
			if !json.Valid([]byte(b.body)) {
				t.Errorf("json block %d of docs/s3.md does not parse:\n%s", i, b.body)
			}
		case "sh":
			script := subst.Replace(b.body)
			cmd := exec.Command("sh", "-e", "-c", script)
			cmd.Dir, cmd.Env = work, env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Fatalf("docs/s3.md block %d failed (%v):\n%s\noutput:\n%s", i, err, b.body, out.String())
			}
			ran++
			t.Logf("$ %s%s", strings.ReplaceAll(strings.TrimSpace(b.body), "\n", "\n$ "), "\n"+out.String())
			if i+1 < len(blocks) && blocks[i+1].lang == "text" {
				for _, want := range strings.Split(strings.TrimSpace(blocks[i+1].body), "\n") {
					if want = strings.TrimSpace(want); want != "" && !strings.Contains(out.String(), want) {
						t.Errorf("docs/s3.md block %d: output lacks the line the page shows:\n%s\noutput:\n%s", i, want, out.String())
					}
				}
			}
		}
	}
	if ran < 6 {
		t.Fatalf("ran %d sh blocks of docs/s3.md; the page's format changed?", ran)
	}
}
