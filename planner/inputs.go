package planner

import (
	"encoding/binary"
	"strings"

	"github.com/sluicedata/sluice/hive"
)

// Input is one chosen input file.
type Input struct {
	Key  string `json:"key"` // relative to the store root
	Size int64  `json:"size"`
	ETag string `json:"etag"`
	// Partitions are the hive values as written in the key (percent-escaped,
	// the Hive null marker as is; hive.PathValues), one per source partition
	// key: type them with predicate.ParsePartitionValue.
	Partitions []string `json:"partitions,omitempty"`
	// RowGroups are the Parquet row groups to read; nil means all of them
	// unless NoRowGroups (every group was pruned: the file is only recorded).
	RowGroups   []int `json:"row_groups,omitempty"`
	NoRowGroups bool  `json:"no_row_groups,omitempty"`
}

// Inputs holds chosen inputs compactly, because an unbounded plan over a
// million keys must fit in a small process:
//
//   - keys are front-coded (each stores only the bytes after the prefix it
//     shares with the previous key; every restartEvery-th key is whole),
//   - an ETag of the common form "<32 hex digits>" is stored as 16 bytes,
//   - records live in 1 MiB chunks, so growing never copies the whole list
//     nor leaves half of it as slack.
//
// About 40 bytes per input for typical keys. Random access (At, Rel)
// decodes from the nearest restart point; Each walks in order. Partition
// values are not stored: they are in the key and re-derived.
type Inputs struct {
	prefix     string // the source prefix every key starts with
	partitions []string
	chunks     [][]byte
	restarts   []uint64 // chunk<<32 | offset of every restartEvery-th record
	sizes      []int64
	last       []byte // the previous key, for front coding
}

const (
	restartEvery = 16
	chunkSize    = 1 << 20
)

// NewInputs returns an empty list for files under prefix with the given
// hive partition keys.
func NewInputs(prefix string, partitions []string) *Inputs {
	return &Inputs{prefix: prefix, partitions: partitions}
}

// Add appends a file; key must start with the prefix. Keys should be
// added in key order (front coding relies on neighbours sharing prefixes,
// but any order is correct).
func (in *Inputs) Add(key string, size int64, etag string) {
	in.AddBytes([]byte(strings.TrimPrefix(key, in.prefix)), size, []byte(etag))
}

// AddBytes appends a file given its key relative to the prefix.
func (in *Inputs) AddBytes(rel []byte, size int64, etag []byte) {
	n := len(in.sizes)
	shared := 0
	if n%restartEvery != 0 {
		for shared < len(rel) && shared < len(in.last) && rel[shared] == in.last[shared] {
			shared++
		}
	}
	var rec []byte
	rec = binary.AppendUvarint(rec, uint64(shared))
	rec = binary.AppendUvarint(rec, uint64(len(rel)-shared))
	rec = append(rec, rel[shared:]...)
	if md5, ok := packETag(etag); ok {
		rec = append(rec, 1)
		rec = append(rec, md5[:]...)
	} else {
		rec = append(rec, 0)
		rec = binary.AppendUvarint(rec, uint64(len(etag)))
		rec = append(rec, etag...)
	}
	c := len(in.chunks) - 1
	if c < 0 || len(in.chunks[c])+len(rec) > cap(in.chunks[c]) {
		in.chunks = append(in.chunks, make([]byte, 0, max(chunkSize, len(rec))))
		c++
	}
	if n%restartEvery == 0 {
		in.restarts = append(in.restarts, uint64(c)<<32|uint64(len(in.chunks[c])))
	}
	in.chunks[c] = append(in.chunks[c], rec...)
	in.sizes = append(in.sizes, size)
	in.last = append(in.last[:0], rel...)
}

// packETag recognises "<32 lowercase hex digits>" (S3's single-part ETag).
func packETag(etag []byte) ([16]byte, bool) {
	var out [16]byte
	if len(etag) != 34 || etag[0] != '"' || etag[33] != '"' {
		return out, false
	}
	for i := 0; i < 16; i++ {
		h, ok1 := unhexLower(etag[1+2*i])
		l, ok2 := unhexLower(etag[2+2*i])
		if !ok1 || !ok2 {
			return out, false
		}
		out[i] = h<<4 | l
	}
	return out, true
}

func unhexLower(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// cursor decodes records in order from a restart point.
type cursor struct {
	in     *Inputs
	c, off int
	key    []byte
	etag   []byte
}

func (cu *cursor) next() {
	ch := cu.in.chunks[cu.c]
	if cu.off >= len(ch) {
		cu.c, cu.off = cu.c+1, 0
		ch = cu.in.chunks[cu.c]
	}
	b := ch[cu.off:]
	shared, n1 := binary.Uvarint(b)
	suffix, n2 := binary.Uvarint(b[n1:])
	p := n1 + n2
	cu.key = append(cu.key[:shared], b[p:p+int(suffix)]...)
	p += int(suffix)
	cu.etag = cu.etag[:0]
	if b[p] == 1 {
		const hexd = "0123456789abcdef"
		cu.etag = append(cu.etag, '"')
		for _, x := range b[p+1 : p+17] {
			cu.etag = append(cu.etag, hexd[x>>4], hexd[x&0xf])
		}
		cu.etag = append(cu.etag, '"')
		p += 17
	} else {
		l, n := binary.Uvarint(b[p+1:])
		p += 1 + n
		cu.etag = append(cu.etag, b[p:p+int(l)]...)
		p += int(l)
	}
	cu.off += p
}

func (in *Inputs) seek(i int) *cursor {
	r := in.restarts[i/restartEvery]
	cu := &cursor{in: in, c: int(r >> 32), off: int(r & 0xffffffff)}
	for j := i - i%restartEvery; j <= i; j++ {
		cu.next()
	}
	return cu
}

// Len is the number of inputs.
func (in *Inputs) Len() int {
	if in == nil {
		return 0
	}
	return len(in.sizes)
}

// Size is the byte size of input i.
func (in *Inputs) Size(i int) int64 { return in.sizes[i] }

// Rel is input i's key relative to the source prefix.
func (in *Inputs) Rel(i int) string { return string(in.seek(i).key) }

// At materialises input i.
func (in *Inputs) At(i int) Input {
	cu := in.seek(i)
	rel := string(cu.key)
	return Input{
		Key:        in.prefix + rel,
		Size:       in.sizes[i],
		ETag:       string(cu.etag),
		Partitions: hive.PathValues(rel, in.partitions),
	}
}

// Each calls fn for every input in order; rel and etag are valid only
// during the call.
func (in *Inputs) Each(fn func(i int, rel []byte, size int64, etag []byte) bool) {
	if in.Len() == 0 {
		return
	}
	cu := &cursor{in: in}
	for i := range in.sizes {
		cu.next()
		if !fn(i, cu.key, in.sizes[i], cu.etag) {
			return
		}
	}
}

// Prefix is the source prefix every input key starts with.
func (in *Inputs) Prefix() string { return in.prefix }

// PartitionKeys are the hive keys whose values At derives from the keys.
func (in *Inputs) PartitionKeys() []string { return in.partitions }

// TotalBytes is the sum of the input sizes.
func (in *Inputs) TotalBytes() int64 {
	var n int64
	for _, s := range in.sizes {
		n += s
	}
	return n
}
