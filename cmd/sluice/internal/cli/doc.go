// Package cli is the command-line framework of sluice: it dispatches
// `sluice CMD [flags] [args]` to a command, parses Terraform-style flags
// (one or two dashes, `=` or a space before the value, flags before or after
// the positional arguments, repeatable -var/-var-file), renders help, turns
// usage mistakes into a one-line message with exit code 1, and names every
// exit code of the command-line contract in one place (ExitCode).
//
// Commands are plain values (Command) held in one list that package main
// builds; there is no registry and no init(). Adding a command is one
// constructor returning a *Command plus one entry in that list.
//
// Why not hashicorp/cli (Terraform's framework)? It leaves flag parsing to
// each command (so interleaved flags would still be ours to write), renders
// help from free text, maps -h to its own exit code, and pulls in several
// modules (go-radix, sprig, posener/complete) that sluice does not otherwise
// need. What sluice needs — a list of commands, per-command flag sets, shared
// common flags, generated help, and exact control of exit codes and of which
// stream every byte goes to — fits in a few hundred lines that can be tested
// directly.
//
// What the commands do belongs to package main (wiring) and to the spec,
// planner and exec packages; how diagnostics look belongs to diagview.
package cli
