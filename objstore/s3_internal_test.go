package objstore

import (
	"context"
	"strings"
	"testing"
)

// The 10,000-part limit is reported before a part beyond it is sent
// (testing it end to end would take 50 GB).
func TestS3PartLimit(t *testing.T) {
	s := &S3Store{bucket: "b", partSize: MinPartSize}
	u := &s3Upload{s: s, key: "k", next: MaxParts, sem: make(chan struct{}, 1)}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	defer u.cancel()
	u.buf = make([]byte, 0, MinPartSize)
	_, err := u.Write(make([]byte, MinPartSize))
	if err == nil || !strings.Contains(err.Error(), "s3://b/k: object exceeds S3's 10000 parts of 5 MiB; raise the part size") {
		t.Fatalf("Write beyond the last part: %v", err)
	}
}

func TestS3PartSizeMinimum(t *testing.T) {
	_, err := NewS3(context.Background(), "b", WithPartSize(1<<20))
	if err == nil || !strings.Contains(err.Error(), "below S3's minimum") {
		t.Fatalf("NewS3 with 1 MiB parts: %v", err)
	}
}
