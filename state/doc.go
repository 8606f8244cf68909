// Package state keeps the bookmarks of one pipeline source: which object keys
// were processed, with the ETag and size they had, by which run.
//
// Layout under the state location, per pipeline and source:
//
//	<pipeline>/<source>/HEAD                  JSON: format version, version, run id, segment names
//	<pipeline>/<source>/segments/<run id>.seg gzip NDJSON, one processed key per line, sorted by key
//
// HEAD is the only mutable object; it is replaced with a conditional PUT
// (If-Match on the ETag read, If-None-Match when there was none), so two runs
// racing to record their keys cannot both win. Segments are immutable and
// written before HEAD names them, so a reader that sees a HEAD always finds
// its segments. Reading streams the union of all segments in key order
// (a k-way merge), in memory proportional to the number of segments, not keys.
//
// Writers: AddSegment (append and overwrite_partitions runs), Replace
// (overwrite runs: HEAD names only the new segment), Compact (merge all
// segments into one past CompactThreshold) and Adopt (carry bookmarks over
// a moved block). Every HEAD change is one conditional PUT.
//
// Locks and journals belong to the executor's commit protocol (exec); this
// package is the bookmark read side and the final HEAD swap only.
package state
