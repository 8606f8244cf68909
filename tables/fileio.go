package tables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	iceio "github.com/apache/iceberg-go/io"

	"github.com/sluicedata/sluice/objstore"
)

// registerFileIO gives iceberg-go a FileIO for s3:// over package objstore,
// once per process. iceberg-go looks FileIOs up by scheme in a registry of
// its own; its S3 FileIO would pull in gocloud.dev and its Google API
// dependencies, and ignore sluice's endpoint, retries and settings. Local
// warehouses (file://) keep iceberg-go's built-in local FileIO.
var registerFileIO = sync.OnceFunc(func() {
	for _, scheme := range []string{"s3", "s3a"} {
		iceio.Register(scheme, func(ctx context.Context, u *url.URL, _ map[string]string) (iceio.IO, error) {
			loc, err := objstore.Open(context.WithoutCancel(ctx), "s3://"+u.Host+"/")
			if err != nil {
				return nil, err
			}
			return &storeIO{store: loc.Store, scheme: u.Scheme, bucket: u.Host}, nil
		})
	}
})

// storeIO is iceberg-go's FileIO over one bucket of an objstore.Store.
// Paths are full URIs, s3://bucket/key; the key is taken verbatim (never
// percent-decoded), as Iceberg's own S3 FileIO does.
type storeIO struct {
	store          objstore.Store
	scheme, bucket string
}

var (
	_ iceio.WriteFileIO = (*storeIO)(nil)
	_ iceio.ListableIO  = (*storeIO)(nil)
	_ iceio.ReadFileIO  = (*storeIO)(nil)
)

// opTimeout bounds one metadata read or write: iceberg-go's FileIO calls
// carry no context.
const opTimeout = 5 * time.Minute

func (s *storeIO) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}

func (s *storeIO) key(name string) (string, error) {
	rest, ok := strings.CutPrefix(name, s.scheme+"://"+s.bucket+"/")
	if !ok {
		return "", &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("not in %s://%s/", s.scheme, s.bucket)}
	}
	return rest, nil
}

func pathErr(op, name string, err error) error {
	if errors.Is(err, objstore.ErrNotExist) {
		err = errors.Join(fs.ErrNotExist, err)
	}
	return &fs.PathError{Op: op, Path: name, Err: err}
}

func (s *storeIO) ReadFile(name string) ([]byte, error) {
	b, _, _, err := s.readAll(name)
	return b, err
}

// Open reads the whole object: iceberg-go opens metadata files, manifest
// lists and manifests (sluice never has it read data files).
func (s *storeIO) Open(name string) (iceio.File, error) {
	b, k, info, err := s.readAll(name)
	if err != nil {
		return nil, err
	}
	return &memFile{Reader: bytes.NewReader(b), info: objInfo{name: path.Base(k), size: int64(len(b)), mod: info.LastModified}}, nil
}

// readAll is the whole object name, its key in the store and what the
// store says of it.
func (s *storeIO) readAll(name string) (b []byte, key string, info objstore.ObjectInfo, err error) {
	if key, err = s.key(name); err != nil {
		return nil, "", info, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	rc, info, err := s.store.Get(ctx, key)
	if err != nil {
		return nil, "", info, pathErr("open", name, err)
	}
	defer rc.Close()
	if b, err = io.ReadAll(rc); err != nil {
		return nil, "", info, pathErr("read", name, err)
	}
	return b, key, info, nil
}

func (s *storeIO) Remove(name string) error {
	k, err := s.key(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if err := s.store.Delete(ctx, k); err != nil {
		return pathErr("remove", name, err)
	}
	return nil
}

func (s *storeIO) WriteFile(name string, p []byte) error {
	k, err := s.key(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.store.Put(ctx, k, p, objstore.PutOptions{}); err != nil {
		return pathErr("write", name, err)
	}
	return nil
}

func (s *storeIO) Create(name string) (iceio.FileWriter, error) {
	if _, err := s.key(name); err != nil {
		return nil, err
	}
	return &bufWriter{io: s, name: name}, nil
}

// WalkDir lists every object under root (S3 has no directories, so fn sees
// files only). Orphan-file planning calls it.
func (s *storeIO) WalkDir(root string, fn fs.WalkDirFunc) error {
	prefix, err := s.key(strings.TrimSuffix(root, "/") + "/")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*opTimeout)
	defer cancel()
	in := objstore.ListInput{Prefix: prefix}
	for {
		page, err := s.store.List(ctx, in)
		if err != nil {
			return fn(root, nil, err)
		}
		for _, o := range page.Objects {
			fi := objInfo{name: path.Base(o.Key), size: o.Size, mod: o.LastModified}
			if err := fn(s.scheme+"://"+s.bucket+"/"+o.Key, fs.FileInfoToDirEntry(fi), nil); err != nil {
				if errors.Is(err, fs.SkipDir) {
					continue
				}
				if errors.Is(err, fs.SkipAll) {
					return nil
				}
				return err
			}
		}
		if page.NextToken == "" {
			return nil
		}
		in.Token = page.NextToken
	}
}

// bufWriter buffers a Create'd file and writes it whole on Close (metadata
// files and manifests are small).
type bufWriter struct {
	bytes.Buffer
	io   *storeIO
	name string
}

func (w *bufWriter) Close() error { return w.io.WriteFile(w.name, w.Bytes()) }

type memFile struct {
	*bytes.Reader
	info objInfo
}

func (f *memFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *memFile) Close() error               { return nil }

type objInfo struct {
	name string
	size int64
	mod  time.Time
}

func (o objInfo) Name() string       { return o.name }
func (o objInfo) Size() int64        { return o.size }
func (o objInfo) Mode() fs.FileMode  { return 0o444 }
func (o objInfo) ModTime() time.Time { return o.mod }
func (o objInfo) IsDir() bool        { return false }
func (o objInfo) Sys() any           { return nil }
