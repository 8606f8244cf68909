// Package parquettesting holds the corpus test of apache/parquet-testing:
// every file of its data/, shredded_variant/ and bad_data/ directories is
// read with sluice's Parquet decoder, as a source without a declared schema
// reads it, and with DuckDB, and the two are compared (see the README in
// testdata/).
package parquettesting
