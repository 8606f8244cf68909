// Package s3test runs a real S3-compatible server (the Versity S3 gateway,
// versitygw) on a loopback port for tests, and a counting, fault-injecting
// reverse proxy in front of it.
//
// It never skips: a test that needs S3 and cannot find the gateway fails
// and says to run `make tools`. It holds no sluice logic; objstore and the
// packages above use it from their tests.
package s3test
