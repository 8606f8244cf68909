package objstore

import (
	"context"
	"errors"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Errors every Store returns (wrapped, test with errors.Is).
var (
	// ErrNotExist: the key (or upload) does not exist.
	ErrNotExist = errors.New("object does not exist")
	// ErrPrecondition: a conditional write's condition did not hold
	// (If-None-Match: * on an existing key, or If-Match on another ETag).
	ErrPrecondition = errors.New("precondition failed")
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key          string // relative to the Store's root
	Size         int64
	ETag         string // opaque; changes whenever the content changes
	LastModified time.Time
}

// ListInput asks for one page of a listing.
type ListInput struct {
	Prefix    string
	Delimiter string // "" or "/"
	// StartAfter lists keys strictly after this one ("" = from the start).
	// With a Delimiter, whether a common prefix that StartAfter falls inside
	// (Prefix "a/", StartAfter "a/b/c", later keys "a/b/d") is returned
	// differs between S3-compatible servers: callers must not rely on it.
	StartAfter string
	Token      string // continuation token from the previous page ("" = first page)
	MaxKeys    int    // 0 = the store's default (1000)
}

// ListPage is one page of a listing. Objects and CommonPrefixes are each in
// UTF-8 byte order of their keys and, merged, form one sorted sequence.
// NextToken is "" on the last page.
type ListPage struct {
	Objects        []ObjectInfo
	CommonPrefixes []string
	NextToken      string
}

// PutOptions are the conditions of a conditional write, and what the store
// keeps with the object.
type PutOptions struct {
	IfNoneMatch bool   // create only: fail with ErrPrecondition if the key exists
	IfMatch     string // replace only the object whose ETag is this
	Object      ObjectOptions
}

// ObjectOptions are what a store keeps with an object it creates: its
// content type and encoding, and S3's server-side settings (encryption,
// storage class, canned ACL, tags). S3 takes them only when an object is
// created — with PutObject, or with CreateMultipartUpload for an upload,
// never at completion — so they are an argument of Put and NewUpload.
//
// A store keeps what it can represent and ignores the rest: the S3 store
// sends every field that is set, the local store keeps none (a file has no
// such metadata). The zero value sends nothing, and the bucket's defaults
// apply (its default encryption, STANDARD, the bucket owner's ACL, no
// tags). The JSON form is what a journal records, so that a commit rolled
// forward by another process writes the same object.
type ObjectOptions struct {
	ContentType     string `json:"content_type,omitempty"`
	ContentEncoding string `json:"content_encoding,omitempty"` // "gzip", "zstd", "" for none
	// SSE is the server-side encryption: "AES256", "aws:kms" or
	// "aws:kms:dsse"; KMSKeyID names the KMS key of the last two ("" with
	// aws:kms: the account's aws/s3 key).
	SSE          string `json:"sse,omitempty"`
	KMSKeyID     string `json:"kms_key_id,omitempty"`
	StorageClass string `json:"storage_class,omitempty"` // e.g. "STANDARD_IA"
	ACL          string `json:"acl,omitempty"`           // a canned ACL, e.g. "bucket-owner-full-control"
	// Tags are sent as the x-amz-tagging header, in key order.
	Tags map[string]string `json:"tags,omitempty"`
}

// Tagging is Tags as the x-amz-tagging header holds them: URL query
// encoding in key order ("env=prod&team=data"), spaces as %20 rather than
// '+' (which a server may take literally). "" without tags.
func (o ObjectOptions) Tagging() string {
	if len(o.Tags) == 0 {
		return ""
	}
	keys := make([]string, 0, len(o.Tags))
	for k := range o.Tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "+", "%20") }
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(esc(k) + "=" + esc(o.Tags[k]))
	}
	return b.String()
}

// Part is one uploaded part of a multipart upload.
type Part struct {
	Number int32  `json:"n"`
	ETag   string `json:"etag"`
	Size   int64  `json:"size"`
}

// PendingUpload is an upload whose data is written but not yet visible.
// It is plain data so that a journal can record it and another process can
// complete or abort it.
type PendingUpload struct {
	Key      string `json:"key"`
	UploadID string `json:"upload_id"`
	Parts    []Part `json:"parts,omitempty"`
	Size     int64  `json:"size"`
}

// Upload streams one object that stays invisible until CompleteUpload.
// Write buffers into parts (S3: ≥ 5 MiB but the last, ≤ 10,000 parts);
// Finish flushes the last part and returns the pending upload without making
// it visible; Abort discards everything written.
type Upload interface {
	io.Writer
	Finish(ctx context.Context) (PendingUpload, error)
	Abort(ctx context.Context) error
}

// Store is a flat namespace of objects with S3 semantics.
//
// Contract (checked by the conformance suite in objstoretest, run against
// every implementation):
//   - Keys are slash-separated; List returns them in UTF-8 byte order, with
//     Delimiter grouping keys into CommonPrefixes as S3 does.
//   - Reads after a successful write see the write (strong consistency).
//   - Put with IfNoneMatch/IfMatch is atomic: of two racing writers at most
//     one succeeds; the loser gets ErrPrecondition.
//   - Get/Head/Delete of a missing key: Get and Head return ErrNotExist,
//     Delete succeeds (idempotent, as on S3).
//   - An Upload is invisible to List/Get until CompleteUpload; CompleteUpload
//     of an already completed upload whose key holds the same data succeeds
//     (an ambiguous retry is recognised, not failed).
//   - ObjectOptions never change what is read back: a store that cannot
//     represent one ignores it rather than failing the write.
type Store interface {
	// URL is the store's root, e.g. "s3://bucket" or "file:///data/lake".
	URL() string
	List(ctx context.Context, in ListInput) (ListPage, error)
	Head(ctx context.Context, key string) (ObjectInfo, error)
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// GetRange reads length bytes at offset; length < 0 reads to the end.
	GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	Put(ctx context.Context, key string, data []byte, opts PutOptions) (ObjectInfo, error)
	Delete(ctx context.Context, key string) error

	// NewUpload starts an upload of key, whose object is created with opts
	// when the upload completes. ctx bounds the whole upload (parts may be
	// sent in the background while Write is called), not just this call.
	NewUpload(ctx context.Context, key string, opts ObjectOptions) (Upload, error)
	CompleteUpload(ctx context.Context, u PendingUpload) (ObjectInfo, error)
	AbortUpload(ctx context.Context, u PendingUpload) error
	// ListUploads lists the pending (started, not completed or aborted)
	// uploads whose keys start with prefix.
	ListUploads(ctx context.Context, prefix string) ([]PendingUpload, error)
}

// CheckSource reports a source location that cannot hold inputs at all: a
// local directory that does not exist. A bucket's absence shows up at
// its first listing; an empty S3 prefix is not an error (nothing written
// yet), so the planner only warns about it.
func CheckSource(loc Location) error {
	if l, ok := loc.Store.(*LocalStore); ok {
		return l.CheckDir(loc.Prefix)
	}
	return nil
}

// ListAll pages through the listing in (every page, from in.Token on) and
// calls fn with each page in key order; fn returning an error stops it.
// It is the one loop over NextToken for callers that want the whole
// listing: objects, or common prefixes with a delimiter.
func ListAll(ctx context.Context, store Store, in ListInput, fn func(ListPage) error) error {
	for {
		page, err := store.List(ctx, in)
		if err != nil {
			return err
		}
		if err := fn(page); err != nil {
			return err
		}
		if page.NextToken == "" {
			return nil
		}
		in.Token = page.NextToken
	}
}
