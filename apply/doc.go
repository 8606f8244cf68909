// Package apply runs one plan under the commit protocol: the sequence
// lock → recover → stale check → journal → run the tasks → checks →
// commit → compact → release, for each pipeline with work, with typed
// outcomes (done, nothing to do, stale, locked, checks failed,
// interrupted, declined, failed) and hooks for progress and events.
//
// The sink's publisher (txn.Publisher: files, or an Iceberg table) is
// prepared under the lock before the run writes, and says where the
// outputs go; apply treats both alike.
//
// It is the one place that orders the protocol's steps: `sluice apply` and
// `sluice test`'s fixture runner (apply/fixture) both call it. The steps
// themselves are package txn's (lock, journal, commit, recovery); the data
// plane is package exec's, reached through the Executor interface, whose
// one implementation today (Local) runs the tasks in this process. The
// command (cmd/sluice) keeps flags, views and exit codes.
//
// A saved plan (Options.Config set) must follow from its configuration
// (follows.go): its settings and structure before the lock
// (planner.Follows), its inputs against the bookmarks under it.
package apply
