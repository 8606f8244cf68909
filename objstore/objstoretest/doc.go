// Package objstoretest is the conformance suite of objstore.Store: one set
// of tests, run against every implementation (local directory, S3 through
// a real gateway), that pins down the contract stated on the interface.
package objstoretest
