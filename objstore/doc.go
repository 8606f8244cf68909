// Package objstore is sluice's one door to stored objects: a flat, S3-shaped
// key space (the Store interface), its two implementations (a local
// directory and an S3 bucket), and the URL parsing that picks one.
//
// It knows nothing about pipelines, file formats or state: listing in key
// order, conditional writes and deferred multipart uploads are the whole
// vocabulary. Which keys to read (pruning, `_`/`.` filtering) is the
// planner's business; what a commit means is exec's. Every implementation
// passes the conformance suite in objstoretest.
package objstore
