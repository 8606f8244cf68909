package objstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// uploadDir is the local store's own area under its root: temp files of
// Put, the data and sidecars of pending uploads, the lock file. It lives
// inside the root so that every rename into place stays on one filesystem
// (and so is atomic), and List never shows it.
const uploadDir = ".sluice-uploads"

// LocalStore is a Store over a directory: key "a/b.csv" is the file
// <root>/a/b.csv.
//
// ETags are "<inode>-<mtime ns>-<size>" in hex: free to compute (one stat),
// and they change whenever the content changes, because every write
// creates a new file (temp + rename), so inode and mtime both move. They are
// not content hashes: two identical files have different ETags.
//
// A key cannot be both an object and a prefix of other objects ("a" and
// "a/b"), since a path cannot be both a file and a directory; S3 allows it.
//
// ObjectOptions are accepted and ignored: a file has no content type,
// encryption setting, storage class, ACL or tags to keep them in.
type LocalStore struct {
	root  string
	sweep sync.Once // removes temp files of Puts killed half-way, once per store
}

// NewLocal returns a store rooted at root. The directory is created on the
// first write, not here, so opening a sink that is never written leaves no
// trace.
func NewLocal(root string) *LocalStore {
	return &LocalStore{root: filepath.Clean(root)}
}

// Root is the directory the store is rooted at.
func (s *LocalStore) Root() string { return s.root }

// URL implements Store.
func (s *LocalStore) URL() string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(s.root)}).String()
}

func (s *LocalStore) keyURL(key string) string {
	return strings.TrimSuffix(s.URL(), "/") + "/" + key
}

func (s *LocalStore) errf(key string, err error) error {
	return fmt.Errorf("%s: %w", s.keyURL(key), err)
}

// path validates key and maps it to a file path.
func (s *LocalStore) path(key string) (string, error) {
	if key == "" {
		return "", s.errf(key, errors.New("empty key"))
	}
	if strings.HasPrefix(key, "/") || strings.HasSuffix(key, "/") || strings.Contains(key, "//") {
		return "", s.errf(key, errors.New("invalid key: empty path segment"))
	}
	for seg := range strings.SplitSeq(key, "/") {
		if seg == "." || seg == ".." || strings.ContainsRune(seg, 0) || strings.ContainsRune(seg, filepath.Separator) && filepath.Separator != '/' {
			return "", s.errf(key, fmt.Errorf("invalid key: segment %q", seg))
		}
	}
	if key == uploadDir || strings.HasPrefix(key, uploadDir+"/") {
		return "", s.errf(key, fmt.Errorf("invalid key: %s/ is the store's own upload area", uploadDir))
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

func localETag(fi fs.FileInfo) string {
	return fmt.Sprintf("%x-%x-%x", inode(fi), fi.ModTime().UnixNano(), fi.Size())
}

func localInfo(key string, fi fs.FileInfo) ObjectInfo {
	return ObjectInfo{Key: key, Size: fi.Size(), ETag: localETag(fi), LastModified: fi.ModTime()}
}

// statErr maps a stat/open error to the store's vocabulary: a missing file,
// or a path whose parent is a file, is ErrNotExist.
func (s *LocalStore) statErr(key string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return s.errf(key, ErrNotExist)
	}
	return s.errf(key, err)
}

// Head implements Store.
func (s *LocalStore) Head(ctx context.Context, key string) (ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, s.statErr(key, err)
	}
	if fi.IsDir() {
		return ObjectInfo{}, s.errf(key, ErrNotExist)
	}
	return localInfo(key, fi), nil
}

// Get implements Store.
func (s *LocalStore) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, ObjectInfo{}, s.statErr(key, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ObjectInfo{}, s.errf(key, err)
	}
	if fi.IsDir() {
		f.Close()
		return nil, ObjectInfo{}, s.errf(key, ErrNotExist)
	}
	return f, localInfo(key, fi), nil
}

// GetRange implements Store.
func (s *LocalStore) GetRange(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, s.errf(key, fmt.Errorf("invalid range: offset %d", offset))
	}
	rc, _, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	f := rc.(*os.File)
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		f.Close()
		return nil, s.errf(key, err)
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// inArea runs create (which makes a file in the upload area d) after
// creating the area, again if the area vanished in between: tidyArea
// removes it once it is empty, from this process or another.
func (s *LocalStore) inArea(create func(d string) error) error {
	for attempt := 0; ; attempt++ {
		d, err := s.ensureArea()
		if err != nil {
			return err
		}
		err = create(d)
		if errors.Is(err, fs.ErrNotExist) && attempt < 3 {
			continue
		}
		return err
	}
}

// tidyArea removes the upload area when nothing is left in it, so that
// a sink directory holds no empty .sluice-uploads/ after a run completes
// or aborts its uploads. A non-empty area (another run's uploads, the
// lock file) stays: os.Remove fails on it, which is the point.
func (s *LocalStore) tidyArea() {
	_ = os.Remove(filepath.Join(s.root, uploadDir))
}

// ensureArea creates the root and its upload area.
func (s *LocalStore) ensureArea() (string, error) {
	d := filepath.Join(s.root, uploadDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("%s: %w", s.URL(), err)
	}
	s.sweep.Do(func() { sweepStalePuts(d) })
	return d, nil
}

// stalePut is the age past which a Put's temp file is surely abandoned: a
// Put renames its temp file into place within milliseconds, so one this old
// belongs to a process killed between writing and renaming.
const stalePut = 15 * time.Minute

// sweepStalePuts removes abandoned Put temp files (never visible, never
// read, but they would accumulate after crashes). Best effort.
func sweepStalePuts(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "put-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > stalePut {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func randomID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// writeTemp writes data to a new temp file in the upload area.
func (s *LocalStore) writeTemp(key string, data []byte) (string, error) {
	var tmp string
	var f *os.File
	err := s.inArea(func(d string) (err error) {
		tmp = filepath.Join(d, "put-"+randomID())
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		return err
	})
	if err != nil {
		return "", s.errf(key, err)
	}
	// Synced before the rename: state and manifests written by Put must not
	// turn up empty after a power loss.
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Close()
		os.Remove(tmp)
		return "", s.errf(key, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", s.errf(key, err)
	}
	return tmp, nil
}

// place moves (or, with exclusive, hard-links) src to dst, creating the
// parent directories; it retries when a concurrent Delete pruned a parent
// directory between the mkdir and the rename.
func (s *LocalStore) place(src, dst string, exclusive bool) error {
	var err error
	for range 5 {
		if err = os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if exclusive {
			// link fails with EEXIST if dst exists: an atomic create-only.
			if err = os.Link(src, dst); err == nil {
				os.Remove(src)
				return nil
			}
		} else if err = os.Rename(src, dst); err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return err
}

// Put implements Store. The write is atomic (temp file + rename). A
// conditional Put holds the store's lock file (flock) across check and
// rename, so racing writers, in this process or another, see one winner.
func (s *LocalStore) Put(ctx context.Context, key string, data []byte, opts PutOptions) (ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	tmp, err := s.writeTemp(key, data)
	if err != nil {
		return ObjectInfo{}, err
	}
	defer os.Remove(tmp) // no-op after a successful rename
	if opts.IfNoneMatch || opts.IfMatch != "" {
		unlock, err := s.lock()
		if err != nil {
			return ObjectInfo{}, s.errf(key, err)
		}
		defer unlock()
	}
	switch {
	case opts.IfNoneMatch:
		if err := s.place(tmp, p, true); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return ObjectInfo{}, s.errf(key, ErrPrecondition)
			}
			return ObjectInfo{}, s.errf(key, err)
		}
	case opts.IfMatch != "":
		fi, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				// S3 answers If-Match on a missing key with 404.
				return ObjectInfo{}, s.errf(key, ErrNotExist)
			}
			return ObjectInfo{}, s.errf(key, err)
		}
		if localETag(fi) != opts.IfMatch {
			return ObjectInfo{}, s.errf(key, ErrPrecondition)
		}
		if err := s.place(tmp, p, false); err != nil {
			return ObjectInfo{}, s.errf(key, err)
		}
	default:
		if err := s.place(tmp, p, false); err != nil {
			return ObjectInfo{}, s.errf(key, err)
		}
		s.tidyArea()
	}
	fi, err := os.Stat(p)
	if err != nil {
		return ObjectInfo{}, s.errf(key, err)
	}
	return localInfo(key, fi), nil
}

// Delete implements Store: deleting a missing key succeeds. Parent
// directories left empty are removed, so that a prefix with no objects
// stops being listed, as on S3.
func (s *LocalStore) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return s.errf(key, err)
	}
	s.pruneDirs(filepath.Dir(p))
	return nil
}

// pruneDirs removes empty directories from dir up to (not including) the
// root; a non-empty one (ENOTEMPTY) stops it.
func (s *LocalStore) pruneDirs(dir string) {
	for dir != s.root && strings.HasPrefix(dir, s.root+string(filepath.Separator)) {
		if os.Remove(dir) != nil {
			return
		}
		dir = filepath.Dir(dir)
	}
}

// lock takes the store-wide lock file. flock locks belong to the open file
// description, so two goroutines of one process exclude each other too.
func (s *LocalStore) lock() (func(), error) {
	d, err := s.ensureArea()
	if err != nil {
		return nil, err
	}
	return lockFile(filepath.Join(d, "lock"))
}

// ---- uploads ----

// uploadSidecar names the key of a pending upload, so that ListUploads
// (possibly from another process, after a crash) can find it.
type uploadSidecar struct {
	Key     string    `json:"key"`
	Created time.Time `json:"created"`
}

func (s *LocalStore) uploadPaths(id string) (data, sidecar string, err error) {
	if id == "" || strings.ContainsAny(id, `/\.`) {
		return "", "", fmt.Errorf("invalid upload id %q", id)
	}
	d := filepath.Join(s.root, uploadDir)
	return filepath.Join(d, id+".data"), filepath.Join(d, id+".json"), nil
}

type localUpload struct {
	s       *LocalStore
	key, id string
	f       *os.File
	size    int64
	done    bool
}

// NewUpload implements Store: the data goes to a hidden file in the upload
// area, renamed into place by CompleteUpload.
func (s *LocalStore) NewUpload(ctx context.Context, key string, _ ObjectOptions) (Upload, error) {
	if _, err := s.path(key); err != nil {
		return nil, err
	}
	id := randomID()
	dataPath, sidecarPath, _ := s.uploadPaths(id)
	sc, _ := json.Marshal(uploadSidecar{Key: key, Created: time.Now().UTC()})
	if err := s.inArea(func(string) error { return os.WriteFile(sidecarPath, sc, 0o644) }); err != nil {
		return nil, s.errf(key, err)
	}
	f, err := os.OpenFile(dataPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		os.Remove(sidecarPath)
		return nil, s.errf(key, err)
	}
	return &localUpload{s: s, key: key, id: id, f: f}, nil
}

func (u *localUpload) Write(p []byte) (int, error) {
	if u.done {
		return 0, u.s.errf(u.key, errors.New("write after Finish or Abort"))
	}
	n, err := u.f.Write(p)
	u.size += int64(n)
	if err != nil {
		return n, u.s.errf(u.key, err)
	}
	return n, nil
}

func (u *localUpload) Finish(ctx context.Context) (PendingUpload, error) {
	if u.done {
		return PendingUpload{}, u.s.errf(u.key, errors.New("upload already finished or aborted"))
	}
	u.done = true
	if err := u.f.Sync(); err != nil {
		u.f.Close()
		return PendingUpload{}, u.s.errf(u.key, err)
	}
	if err := u.f.Close(); err != nil {
		return PendingUpload{}, u.s.errf(u.key, err)
	}
	return PendingUpload{Key: u.key, UploadID: u.id, Size: u.size}, nil
}

func (u *localUpload) Abort(ctx context.Context) error {
	if !u.done {
		u.done = true
		u.f.Close()
	}
	return u.s.AbortUpload(ctx, PendingUpload{Key: u.key, UploadID: u.id})
}

// CompleteUpload implements Store: an atomic rename into place. If the
// upload's data is gone but the key holds an object of the upload's size,
// an earlier attempt completed it and this one succeeds.
func (s *LocalStore) CompleteUpload(ctx context.Context, u PendingUpload) (ObjectInfo, error) {
	p, err := s.path(u.Key)
	if err != nil {
		return ObjectInfo{}, err
	}
	dataPath, sidecarPath, err := s.uploadPaths(u.UploadID)
	if err != nil {
		return ObjectInfo{}, s.errf(u.Key, err)
	}
	if sc, err := os.ReadFile(sidecarPath); err == nil {
		var side uploadSidecar
		if json.Unmarshal(sc, &side) == nil && side.Key != u.Key {
			return ObjectInfo{}, s.errf(u.Key, fmt.Errorf("upload %s belongs to key %q", u.UploadID, side.Key))
		}
	}
	fi, err := os.Stat(dataPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		info, herr := s.Head(ctx, u.Key)
		if herr == nil && info.Size == u.Size {
			return info, nil // completed by an earlier attempt
		}
		return ObjectInfo{}, s.errf(u.Key, fmt.Errorf("upload %s: %w", u.UploadID, ErrNotExist))
	case err != nil:
		return ObjectInfo{}, s.errf(u.Key, err)
	}
	if fi.Size() != u.Size {
		return ObjectInfo{}, s.errf(u.Key, fmt.Errorf("upload %s holds %d bytes, expected %d", u.UploadID, fi.Size(), u.Size))
	}
	if err := s.place(dataPath, p, false); err != nil {
		return ObjectInfo{}, s.errf(u.Key, err)
	}
	os.Remove(sidecarPath)
	s.tidyArea()
	return s.Head(ctx, u.Key)
}

// AbortUpload implements Store; aborting a missing upload succeeds.
func (s *LocalStore) AbortUpload(ctx context.Context, u PendingUpload) error {
	dataPath, sidecarPath, err := s.uploadPaths(u.UploadID)
	if err != nil {
		return s.errf(u.Key, err)
	}
	for _, p := range []string{dataPath, sidecarPath} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return s.errf(u.Key, err)
		}
	}
	s.tidyArea()
	return nil
}

// ListUploads implements Store, from the sidecars of the upload area.
func (s *LocalStore) ListUploads(ctx context.Context, prefix string) ([]PendingUpload, error) {
	d := filepath.Join(s.root, uploadDir)
	entries, err := os.ReadDir(d)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.URL(), err)
	}
	var out []PendingUpload
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok {
			continue
		}
		sc, err := os.ReadFile(filepath.Join(d, e.Name()))
		if err != nil {
			continue // completed or aborted meanwhile
		}
		var side uploadSidecar
		if json.Unmarshal(sc, &side) != nil || !strings.HasPrefix(side.Key, prefix) {
			continue
		}
		// A sidecar without data is listed too: NewUpload killed between
		// the two files, or a completion killed before removing the
		// sidecar. Aborting either only removes the sidecar (a completed
		// object is already in place), so recovery can clean it up.
		var size int64
		if fi, err := os.Stat(filepath.Join(d, id+".data")); err == nil {
			size = fi.Size()
		}
		out = append(out, PendingUpload{Key: side.Key, UploadID: id, Size: size})
	}
	slices.SortFunc(out, func(a, b PendingUpload) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(a.UploadID, b.UploadID)
	})
	return out, nil
}

// CheckDir reports an error when the directory that prefix names (the store's root for "") does not exist, naming it: a
// source directory that is not there is a mistake (a typo in url, a path
// resolved against the wrong directory), not an empty backlog.
func (s *LocalStore) CheckDir(prefix string) error {
	p := s.root
	if key := strings.TrimSuffix(prefix, "/"); key != "" {
		var err error
		if p, err = s.path(key); err != nil {
			return err
		}
	}
	fi, err := os.Stat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", p)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", p)
	}
	return nil
}
