// Package lineage emits OpenLineage run events (START, COMPLETE, FAIL,
// ABORT) for each pipeline apply runs, with the source and the sink as
// datasets (their schema facets, and the row, byte and file counts on
// COMPLETE), to an OpenLineage HTTP endpoint (OPENLINEAGE_URL) or a file.
// It formats and ships what package apply reports; it never changes a
// run's outcome.
package lineage
