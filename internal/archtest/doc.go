// Package archtest holds one test: that sluice's packages depend on each
// other only downwards (docs/architecture.md). It has no code of its own.
package archtest
