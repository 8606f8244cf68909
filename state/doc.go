// Package state stores what a pipeline source has processed, and the
// records that guard changes to it: the storage layer of the commit
// protocol, not the protocol itself (that is package txn).
//
// Layout under the state location, per pipeline and source (a Bookmarks):
//
//	<pipeline>/<source>/HEAD                   JSON: format version, version, run id, segment names
//	<pipeline>/<source>/segments/<run id>.seg  gzip NDJSON, one processed key per line, sorted by key
//	<pipeline>/<source>/journal/<run id>.json  one record per change: its phase and remaining steps
//	<pipeline>/<source>/LOCK                   who holds the pipeline, until when
//
// Object keys are bytes, and bookmarks keep them exactly: a segment line
// holds a key that is valid UTF-8 (every S3 key) as the JSON string "k",
// and any other key (a local file name) as "kb", the standard base64 of
// its bytes; a journal's deletions are strings, or {"base64": …} for such
// keys (Keys). Segments written before this (state format 1 all the same)
// hold such a key with U+FFFD in place of each bad byte: they still read,
// and that bookmark matches no object, so the file is processed once more
// and then recorded exactly. A sluice that predates "kb" refuses such a
// segment ("no key") rather than misread it.
//
// Files by job: head.go (HEAD: read, and the one conditional swap),
// segment.go (encode, write and read segments), merge.go (the k-way merge
// of a HEAD's segments in key order, in memory proportional to the number
// of segments, not keys), journal.go (journal records), lock.go (the lease
// lock), adopt.go (carry bookmarks over a moved block).
//
// There is one write path for bookmarks: write a segment (immutable,
// unreferenced until named), then SwapHead, which names it in HEAD with a
// conditional PUT (If-Match on the ETag read, If-None-Match when there was
// none) and recognises its own earlier success by the run id in HEAD.
// Segments are written before HEAD names them, so a reader that sees a
// HEAD always finds its segments. When to write, when to swap, and what to
// journal in between is decided by package txn, under the lock.
package state
