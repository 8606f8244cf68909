// Package pushtest starts a real Prometheus Pushgateway on loopback for
// tests (the binary the Makefile installs into .tools/, named by
// SLUICE_PUSHGATEWAY) and scrapes it back.
package pushtest
