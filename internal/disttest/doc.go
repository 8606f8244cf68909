// Package disttest is the test lake the distributed executors' tests share
// (dist, dist/temporal): one pipeline over small local JSON files, one task
// per file, with what the tests read back (plan, bookmarks, pending uploads,
// outputs). Test support only; no sluice package imports it.
package disttest
