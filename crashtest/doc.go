// Package crashtest holds end-to-end tests of the commit protocol: they
// build bin/sluice, run `sluice apply` as a subprocess against a local
// directory and the real S3 gateway, kill it with SIGKILL at injected
// points of every phase (txn.KillEnv) and at random times, signal it,
// race two of them and inject S3 faults, then re-run and check that every
// input row is in the Parquet outputs exactly once, that no pending upload
// or temp object remains, and that the state records every input.
//
// It has no non-test code; the kill points it drives are documented in
// docs/commit-protocol.md.
package crashtest
