// Package diagview renders hcl.Diagnostics for people and for machines:
// the human form of DESIGN §2 (`file:line:col: error: summary`, the source
// line with a caret under the exact column, then the detail), the JSON
// document of `validate -json` (Terraform's shape), and GitHub Actions
// workflow annotations (`validate -format github`).
//
// It only presents diagnostics; producing them is spec's job, and deciding
// exit codes is the command's. Source lines are read from the files named
// in the diagnostics' ranges (through Sources, which caches them), because
// spec.Load returns diagnostics but not the parsed files.
package diagview
