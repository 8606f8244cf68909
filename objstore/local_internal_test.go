package objstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Debris of a process killed half-way through the upload area is found and
// cleaned: a sidecar whose data file was never created is listed as a
// pending upload (so recovery aborts it), and an old Put temp file is
// swept when the store is next written.
func TestLocalCrashDebrisIsCleaned(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	area := filepath.Join(root, uploadDir)
	if err := os.MkdirAll(area, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(area, "deadbeef.json"), []byte(`{"key":"out/part-x.parquet"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(area, "put-0123")
	if err := os.WriteFile(stale, []byte("half"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	s := NewLocal(root)
	ups, err := s.ListUploads(ctx, "out/")
	if err != nil || len(ups) != 1 || ups[0].UploadID != "deadbeef" {
		t.Fatalf("uploads %+v, %v; want the sidecar-only upload", ups, err)
	}
	if err := s.AbortUpload(ctx, ups[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Put(ctx, "k", []byte("v"), PutOptions{}); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(area)
	for _, e := range left {
		if e.Name() == "deadbeef.json" || e.Name() == "put-0123" {
			t.Fatalf("debris left in the upload area: %s", e.Name())
		}
	}
}
