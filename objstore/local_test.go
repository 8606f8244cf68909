package objstore_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/objstore/objstoretest"
)

func TestLocalConformance(t *testing.T) {
	objstoretest.Run(t, func(t *testing.T) objstore.Store {
		return objstore.NewLocal(filepath.Join(t.TempDir(), "root"))
	})
}

func TestLocalRootCreatedOnWrite(t *testing.T) {
	root := filepath.Join(t.TempDir(), "a", "b")
	loc, err := objstore.Open(context.Background(), "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := loc.Store.List(context.Background(), objstore.ListInput{}); err != nil {
		t.Fatalf("List of a root not yet created: %v", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open/List created the root: %v", err)
	}
	if _, err := loc.Store.Put(context.Background(), "k", []byte("v"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "k")); err != nil || string(b) != "v" {
		t.Fatalf("file after Put: %q, %v", b, err)
	}
}

// The upload area never shows in a listing, and keys inside it are refused.
func TestLocalUploadAreaHidden(t *testing.T) {
	ctx := context.Background()
	s := objstore.NewLocal(t.TempDir())
	if _, err := s.NewUpload(ctx, "x", objstore.ObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "y", []byte("1"), objstore.PutOptions{IfNoneMatch: true}); err != nil {
		t.Fatal(err)
	}
	page, err := s.List(ctx, objstore.ListInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Objects) != 1 || page.Objects[0].Key != "y" || len(page.CommonPrefixes) != 0 {
		t.Fatalf("List = %+v, want only y", page)
	}
	for _, key := range []string{".sluice-uploads/lock", ".sluice-uploads", "../escape", "a//b", "/abs", "a/./b", "dir/"} {
		if _, err := s.Put(ctx, key, nil, objstore.PutOptions{}); err == nil {
			t.Errorf("Put(%q) succeeded, want an invalid-key error", key)
		}
	}
}

// An empty directory (left by something other than Delete) is not a
// common prefix: S3 has no empty prefixes.
func TestLocalEmptyDirNotListed(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "empty", "deeper"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := objstore.NewLocal(root)
	if _, err := s.Put(context.Background(), "full/x", []byte("1"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	page, err := s.List(context.Background(), objstore.ListInput{Delimiter: "/"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(page.CommonPrefixes, []string{"full/"}) || len(page.Objects) != 0 {
		t.Fatalf("List = %+v, want only full/", page)
	}
}

// Two processes racing conditional writes on one directory: exactly one
// wins. The helper process is this test binary re-run.
func TestLocalRaceAcrossProcesses(t *testing.T) {
	if os.Getenv("SLUICE_OBJSTORE_HELPER") != "" {
		t.Skip("helper process")
	}
	root := t.TempDir()
	s := objstore.NewLocal(root)
	base, err := s.Put(context.Background(), "head", []byte("base"), objstore.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"create", "swap:" + base.ETag} {
		const procs = 4
		cmds := make([]*exec.Cmd, procs)
		outs := make([]*strings.Builder, procs)
		for i := range procs {
			cmd := exec.Command(os.Args[0], "-test.run=^TestLocalRaceHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SLUICE_OBJSTORE_HELPER="+root+"|"+mode+"|"+strconv.Itoa(i))
			outs[i] = &strings.Builder{}
			cmd.Stdout, cmd.Stderr = outs[i], outs[i]
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			cmds[i] = cmd
		}
		wins := 0
		for i, cmd := range cmds {
			cmd.Wait()
			out := outs[i].String()
			switch {
			case strings.Contains(out, "RESULT:won"):
				wins++
			case strings.Contains(out, "RESULT:lost"):
			default:
				t.Fatalf("%s: helper %d: %s", mode, i, out)
			}
		}
		if wins != 1 {
			t.Fatalf("%s: %d processes won, want exactly 1", mode, wins)
		}
	}
}

func TestLocalRaceHelper(t *testing.T) {
	env := os.Getenv("SLUICE_OBJSTORE_HELPER")
	if env == "" {
		t.Skip("run by TestLocalRaceAcrossProcesses")
	}
	parts := strings.SplitN(env, "|", 3)
	root, mode, id := parts[0], parts[1], parts[2]
	s := objstore.NewLocal(root)
	opts := objstore.PutOptions{IfNoneMatch: true}
	key := "created"
	if etag, ok := strings.CutPrefix(mode, "swap:"); ok {
		opts, key = objstore.PutOptions{IfMatch: etag}, "head"
	}
	// Many attempts widen the race window: each process retries the same
	// conditional write; only the first success of all counts.
	won := false
	for range 50 {
		_, err := s.Put(context.Background(), key, []byte("writer "+id), opts)
		switch {
		case err == nil:
			if won {
				fmt.Println("RESULT:error: won twice")
				return
			}
			won = true
		case errors.Is(err, objstore.ErrPrecondition):
		default:
			fmt.Println("RESULT:error:", err)
			return
		}
	}
	if won {
		fmt.Println("RESULT:won")
	} else {
		fmt.Println("RESULT:lost")
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, tc := range []struct {
		url, wantURL, wantPrefix, wantErr string
	}{
		{url: dir, wantURL: "file://" + dir},
		{url: "file://" + dir, wantURL: "file://" + dir},
		{url: "file://localhost" + dir, wantURL: "file://" + dir},
		{url: "s3://bucket/raw/events/", wantURL: "s3://bucket", wantPrefix: "raw/events/"},
		{url: "s3://bucket", wantURL: "s3://bucket"},
		{url: "s3://bucket/x", wantURL: "s3://bucket", wantPrefix: "x"},
		{url: "s3:///x", wantErr: "missing bucket"},
		{url: "gs://b/x", wantErr: `unsupported scheme "gs"`},
		{url: "file://host/x", wantErr: "must not name a host"},
		{url: "", wantErr: "empty storage URL"},
	} {
		loc, err := objstore.Open(ctx, tc.url)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Open(%q) error = %v, want %q", tc.url, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("Open(%q): %v", tc.url, err)
			continue
		}
		if loc.Store.URL() != tc.wantURL || loc.Prefix != tc.wantPrefix {
			t.Errorf("Open(%q) = %s + %q, want %s + %q", tc.url, loc.Store.URL(), loc.Prefix, tc.wantURL, tc.wantPrefix)
		}
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	a, _ := objstore.Open(ctx, "s3://shared/a/")
	b, _ := objstore.Open(ctx, "s3://shared/b/")
	if a.Store != b.Store {
		t.Errorf("two Locations of one bucket do not share a store")
	}
}

// Uploads are found by another instance of the store (another process,
// after a crash) through their sidecars, and can be completed from there.
func TestLocalUploadsSurviveTheWriter(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	u, err := objstore.NewLocal(root).NewUpload(ctx, "out/part-0", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	u.Write([]byte("0123456789"))
	if _, err := u.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	other := objstore.NewLocal(root)
	ups, err := other.ListUploads(ctx, "out/")
	if err != nil || len(ups) != 1 || ups[0].Key != "out/part-0" || ups[0].Size != 10 {
		t.Fatalf("ListUploads from another instance = %+v, %v", ups, err)
	}
	if _, err := other.CompleteUpload(ctx, ups[0]); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "out", "part-0")); err != nil || string(b) != "0123456789" {
		t.Fatalf("completed file: %q, %v", b, err)
	}
	// A pending upload of another key is not completed under a wrong key.
	u2, _ := other.NewUpload(ctx, "a", objstore.ObjectOptions{})
	u2.Write([]byte("x"))
	p2, _ := u2.Finish(ctx)
	p2.Key = "b"
	if _, err := other.CompleteUpload(ctx, p2); err == nil || !strings.Contains(err.Error(), `belongs to key "a"`) {
		t.Fatalf("CompleteUpload under another key: %v", err)
	}
}

// The upload area is the store's own and leaves no trace once nothing is
// pending: a sink directory holds no empty .sluice-uploads/ after a run
// commits or aborts (a Ctrl-C aborts its uploads).
func TestLocalUploadAreaTidied(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	s := objstore.NewLocal(root)
	area := filepath.Join(root, ".sluice-uploads")
	up, err := s.NewUpload(ctx, "a/x", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	up.Write([]byte("x"))
	pu, err := up.Finish(ctx)
	if err != nil {
		t.Fatal(err)
	}
	up2, err := s.NewUpload(ctx, "a/y", objstore.ObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := up2.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(area); err != nil {
		t.Fatalf("the area went while an upload is pending: %v", err)
	}
	if _, err := s.CompleteUpload(ctx, pu); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(area); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("upload area left behind: %v", err)
	}
	if _, err := s.Put(ctx, "m", []byte("m"), objstore.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(area); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("upload area left behind a Put: %v", err)
	}
}
