package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Command is one `sluice` command. It is a plain value: package main lists
// the commands it offers, and the framework reads that list.
type Command struct {
	// Name is the word typed after `sluice` (or after the parent's name
	// for a subcommand).
	Name string
	// Synopsis is the one line shown in the command list.
	Synopsis string
	// Args names the positional arguments in the usage line, e.g. "[DIR]".
	Args string
	// Help is the text shown under the usage line by `sluice help CMD`.
	// Paragraphs are separated by blank lines; it is printed as written.
	Help string
	// MinArgs and MaxArgs bound the number of positional arguments;
	// MaxArgs < 0 means no upper bound. Outside the bounds is a usage error.
	MinArgs, MaxArgs int
	// Common selects the shared flag groups the command accepts; -log-level
	// and -no-color are always accepted.
	Common Common
	// Setup registers the command's own flags on fs and returns the function
	// that runs it. The flag values live in Setup's closure, so a command's
	// options and its code sit together and no state survives between runs.
	// Setup must not do anything but define flags: help calls it too.
	// nil for a command that only groups Subcommands.
	Setup func(fs *flag.FlagSet) Runner
	// Subcommands, when present, are dispatched on the next word
	// (`sluice state list`).
	Subcommands []*Command
}

// Runner runs a command whose flags and arguments have been parsed.
type Runner func(inv *Invocation) ExitCode

// Common is a set of shared flag groups.
type Common uint

// Shared flag groups a command may accept.
const (
	// CommonVars: -var NAME=VALUE and -var-file FILE, both repeatable.
	CommonVars Common = 1 << iota
	// CommonJSON: -json, machine-readable output on stdout.
	CommonJSON
	// CommonExec: -parallelism N and -memory-limit SIZE.
	CommonExec
)

// String lists the groups, e.g. "vars|json".
func (c Common) String() string {
	var parts []string
	for _, g := range []struct {
		bit  Common
		name string
	}{{CommonVars, "vars"}, {CommonJSON, "json"}, {CommonExec, "exec"}} {
		if c&g.bit != 0 {
			parts = append(parts, g.name)
			c &^= g.bit
		}
	}
	if c != 0 {
		parts = append(parts, fmt.Sprintf("Common(%#x)", uint(c)))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "|")
}

// CommonFlags holds the values of the shared flags after parsing.
type CommonFlags struct {
	Vars        []string // -var, in command-line order ("name=value")
	VarFiles    []string // -var-file, in command-line order
	JSON        bool
	LogLevel    slog.Level // -log-level, else SLUICE_LOG, else warn
	LogFormat   string     // -log-format: "text", "json", or "" (json with -json)
	NoColor     bool
	Parallelism int    // 0: choose automatically
	MemoryLimit int64  // bytes; 0: no explicit limit
	CPUProfile  string // -cpuprofile: write a CPU profile of the command here
	MemProfile  string // -memprofile: write a heap profile at the end here
}

// Invocation is everything a running command may touch. Commands write
// machine output to Stdout only, and everything else (logs, diagnostics,
// progress) to Stderr.
type Invocation struct {
	Ctx    context.Context
	Args   []string // positional arguments, flags removed
	Common CommonFlags

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Log            *slog.Logger

	// StdoutColor and StderrColor say whether ANSI colors may be written
	// to each stream: a terminal, no -no-color, no NO_COLOR, TERM != dumb.
	StdoutColor, StderrColor bool

	Getenv  func(string) string
	Environ []string

	app  *App
	path []string // command words, e.g. ["state", "list"]
}

// CommandPath is the command as typed, e.g. "sluice state list".
func (inv *Invocation) CommandPath() string {
	return inv.app.Name + " " + strings.Join(inv.path, " ")
}

// UsageError reports a usage mistake found after flag parsing (a bad
// flag value combination, say) the way the framework reports its own: one
// line on stderr naming `sluice help CMD`, and exit code 1.
func (inv *Invocation) UsageError(format string, args ...any) ExitCode {
	inv.app.usageError(inv.path, fmt.Sprintf(format, args...))
	return ExitError
}

// WriteJSON writes v to stdout as indented JSON with a final newline,
// the form every -json output of sluice takes (HTML characters unescaped:
// the reader is a program or a person, not a browser).
func (inv *Invocation) WriteJSON(v any) ExitCode {
	enc := json.NewEncoder(inv.Stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return inv.Errorf("writing output: %v", err)
	}
	return ExitOK
}

// Errorf prints a one-line runtime error to stderr and returns ExitError.
func (inv *Invocation) Errorf(format string, args ...any) ExitCode {
	fmt.Fprintf(inv.Stderr, "%s: %s\n", inv.CommandPath(), fmt.Sprintf(format, args...))
	return ExitError
}
