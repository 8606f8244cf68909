// Command lakegen writes the deterministic sample lakes of internal/lakegen.
//
//	lakegen demo DIR   the demo lake that `make demo` drains
package main
