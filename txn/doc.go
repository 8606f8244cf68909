// Package txn is sluice's commit protocol: how a run's pending outputs and
// its inputs' bookmarks become visible together, exactly once, and how
// every state change is journaled so that a crash anywhere is finished or
// undone by whoever next takes the lock (docs/commit-protocol.md).
//
//   - recover.go: Acquire (take the lock, then recover every unfinished
//     change: roll back before COMMITTING, roll forward after), the
//     Session it returns, RecoverAbandoned.
//   - finish.go: Begin (journal WRITING), Abort, and finish, the idempotent
//     steps a COMMITTING journal lists (the publication, then swap HEAD,
//     journal DONE), shared by a live commit and a roll-forward.
//   - publish.go: the Publisher interface, a sink's publication step, with
//     two implementations: files.go (complete the uploads in place, delete
//     what an overwrite replaces, write the manifest) and table.go (commit
//     the data files to an Iceberg table as one snapshot carrying the run
//     id; recovery rolls forward only if that snapshot is in the table's
//     history). publish_test.go is the suite both pass.
//   - commit.go: Commit of a run described by Outputs.
//   - compact.go, statecmd.go: compaction and the `sluice state` changes
//     (forget, mark-processed, rewind, gc), journaled the same way.
//   - manifest.go: commit manifests under <sink>/_sluice/commits/.
//   - killpoint.go: the named points where crash tests kill or pause.
//
// txn knows nothing of how outputs are computed: a run is described to it
// by Outputs (pending uploads, the inputs' bookmarks, what it replaces), so
// any executor can feed it. Tables are reached through package tables. Storage primitives (HEAD, segments, journal
// records, the lock) are package state's; the order in which a command
// calls Acquire, Begin, its executor and Commit is package apply's.
package txn
