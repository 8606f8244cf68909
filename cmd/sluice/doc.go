// Command sluice is the command line of sluice: it compiles HCL pipeline
// files into a physical plan and runs it (`sluice help` lists the
// commands). This package is wiring only: it lists the commands and connects
// each to the spec, planner and exec packages that do the work.
//
// The command-line contract (commands, flags, exit codes, output formats)
// is DESIGN §2 and docs/cli.md. The framework — dispatch, Terraform-style
// flags, help, exit codes — is cmd/sluice/internal/cli; the rendering of
// diagnostics is cmd/sluice/internal/diagview.
//
// To add a command, write a function returning a *cli.Command (see
// validateCommand) and add it to the list in commands().
package main
