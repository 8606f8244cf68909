// Package manifests checks the example manifests in docs/scale-out.md: the
// Kubernetes ones are decoded strictly into the real Kubernetes API types
// (k8s.io/api), so a misspelt or misplaced field fails the test, and the
// AWS Batch job definition is checked as JSON. It is test-only and lives
// in the interop module so that neither the main module's go.mod nor the
// sluice binary grows from these dependencies.
package manifests
