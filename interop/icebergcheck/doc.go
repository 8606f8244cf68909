// Package icebergcheck reads an Apache Iceberg table the way the interop
// tests check sluice's: with a reader that shares no code with the writer
// (iceberg-go). verify.js parses the metadata JSON itself and decodes the
// manifest list and manifests with the npm package avsc (installed by the
// Makefile's test setup, its directory in SLUICE_NODE_PATH); the data files
// it lists are then read with DuckDB by the tests. The current metadata
// file is found in the sql catalog's SQLite file with a plain query.
package icebergcheck
