package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"

	"github.com/agext/levenshtein"
)

// App is the `sluice` program: a name, a list of commands and the process
// streams. Run never calls os.Exit; the caller exits with its result.
type App struct {
	Name     string // the program name, "sluice"
	Commands []*Command

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Environ        []string
	// IsTerminal reports whether w is a terminal, for colors; nil: never.
	IsTerminal func(w io.Writer) bool
	// ParseSize parses -memory-limit (spec.ParseSize, so that sizes on the
	// command line read as they do in configuration); nil: bytes only.
	ParseSize func(string) (int64, error)
}

// Run dispatches args (without the program name) and returns the exit code.
// A panic in a command is a bug, not a user error: it is reported in one
// line (the stack only at -log-level=debug / SLUICE_LOG=debug) and exits 1.
func (a *App) Run(ctx context.Context, args []string) (code ExitCode) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(a.Stderr, "%s: internal error (a bug in %s, please report it): %v\n", a.Name, a.Name, r)
			if lvl, err := ParseLogLevel(a.getenv("SLUICE_LOG")); err == nil && lvl <= slog.LevelDebug {
				a.Stderr.Write(debug.Stack())
			} else {
				fmt.Fprintf(a.Stderr, "%s: set SLUICE_LOG=debug to print the stack trace\n", a.Name)
			}
			code = ExitError
		}
	}()
	if len(args) == 0 {
		a.writeOverview(a.Stderr)
		return ExitError
	}
	switch args[0] {
	case "-h", "-help", "--help":
		a.writeOverview(a.Stdout)
		return ExitOK
	case "help":
		return a.help(args[1:])
	case "-v", "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	cmd := find(a.Commands, args[0])
	if cmd == nil {
		return a.unknownCommand(nil, a.Commands, args[0])
	}
	return a.dispatch(ctx, cmd, []string{cmd.Name}, args[1:])
}

func (a *App) getenv(k string) string {
	if a.Getenv == nil {
		return ""
	}
	return a.Getenv(k)
}

func find(cmds []*Command, name string) *Command {
	for _, c := range cmds {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// unknownCommand reports a word that names no command, suggesting the
// nearest one when it is close enough to be a typo.
func (a *App) unknownCommand(parent []string, cmds []*Command, word string) ExitCode {
	if strings.HasPrefix(word, "-") {
		a.usageError(parent, fmt.Sprintf("unknown flag %s before the command; command flags go after the command name", word))
		return ExitError
	}
	msg := fmt.Sprintf("unknown command %q", word)
	if s := suggest(cmds, word); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	a.usageError(parent, msg)
	return ExitError
}

// suggest returns the command name within edit distance 2 of word (the
// usual reach of a typo), or "".
func suggest(cmds []*Command, word string) string {
	best, bestD := "", 3
	for _, c := range cmds {
		if d := levenshtein.Distance(word, c.Name, nil); d < bestD {
			best, bestD = c.Name, d
		}
	}
	return best
}

// usageError prints the one-line usage message: what is wrong and where
// the help is. path is the command words ([] for the top level).
func (a *App) usageError(path []string, msg string) {
	prog := strings.TrimSpace(a.Name + " " + strings.Join(path, " "))
	helpCmd := strings.TrimSpace(a.Name + " help " + strings.Join(path, " "))
	fmt.Fprintf(a.Stderr, "%s: %s (see %q)\n", prog, msg, helpCmd)
}

// help implements `sluice help [CMD [SUB]]`: help goes to stdout, exit 0.
func (a *App) help(words []string) ExitCode {
	if len(words) == 0 {
		a.writeOverview(a.Stdout)
		return ExitOK
	}
	cmds := a.Commands
	var path []string
	var cmd *Command
	for _, w := range words {
		c := find(cmds, w)
		if c == nil {
			if w == "help" && len(path) == 0 {
				a.writeOverview(a.Stdout)
				return ExitOK
			}
			msg := fmt.Sprintf("no help for unknown command %q", strings.Join(append(path, w), " "))
			if s := suggest(cmds, w); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			a.usageError(nil, msg)
			return ExitError
		}
		cmd, path, cmds = c, append(path, c.Name), c.Subcommands
	}
	a.writeCommandHelp(a.Stdout, cmd, path)
	return ExitOK
}

// dispatch parses flags for cmd (or descends to a subcommand) and runs it.
func (a *App) dispatch(ctx context.Context, cmd *Command, path []string, args []string) ExitCode {
	if cmd.Setup == nil {
		if len(args) == 0 {
			a.usageError(path, "missing subcommand")
			return ExitError
		}
		switch args[0] {
		case "-h", "-help", "--help":
			a.writeCommandHelp(a.Stdout, cmd, path)
			return ExitOK
		}
		sub := find(cmd.Subcommands, args[0])
		if sub == nil {
			return a.unknownCommand(path, cmd.Subcommands, args[0])
		}
		return a.dispatch(ctx, sub, append(path, sub.Name), args[1:])
	}

	fs := flag.NewFlagSet(a.Name+" "+strings.Join(path, " "), flag.ContinueOnError)
	run := cmd.Setup(fs)
	var common CommonFlags
	var logSet bool
	registerCommon(fs, cmd.Common, &common, &logSet, a.ParseSize)
	pos, err := parseArgs(fs, args)
	if errors.Is(err, errHelp) {
		a.writeCommandHelp(a.Stdout, cmd, path)
		return ExitOK
	}
	if err != nil {
		a.usageError(path, flagErrorMessage(fs, err))
		return ExitError
	}
	if len(pos) < cmd.MinArgs {
		a.usageError(path, fmt.Sprintf("missing argument %s", cmd.Args))
		return ExitError
	}
	if cmd.MaxArgs >= 0 && len(pos) > cmd.MaxArgs {
		a.usageError(path, fmt.Sprintf("unexpected argument %q (takes %s)", pos[cmd.MaxArgs], argsPhrase(cmd)))
		return ExitError
	}
	if !logSet {
		common.LogLevel = slog.LevelWarn
		if env := a.getenv("SLUICE_LOG"); env != "" {
			lvl, err := ParseLogLevel(env)
			if err != nil {
				a.usageError(path, "SLUICE_LOG: "+err.Error())
				return ExitError
			}
			common.LogLevel = lvl
		}
	}
	colorOK := !common.NoColor && a.getenv("NO_COLOR") == "" && a.getenv("TERM") != "dumb"
	inv := &Invocation{
		Ctx:         ctx,
		Args:        pos,
		Common:      common,
		Stdin:       a.Stdin,
		Stdout:      a.Stdout,
		Stderr:      a.Stderr,
		StdoutColor: colorOK && a.IsTerminal != nil && a.IsTerminal(a.Stdout),
		StderrColor: colorOK && a.IsTerminal != nil && a.IsTerminal(a.Stderr),
		Getenv:      a.getenv,
		Environ:     a.Environ,
		app:         a,
		path:        path,
	}
	inv.Log = newLogger(a.Stderr, common)
	// The packages below log through slog's default logger (listing,
	// planning, storage requests and retries, tasks, commit steps): it is
	// this command's, with its level and format.
	prev := slog.Default()
	slog.SetDefault(inv.Log)
	defer slog.SetDefault(prev)
	stop, err := startProfiles(common)
	if err != nil {
		return inv.Errorf("%v", err)
	}
	code := run(inv)
	if err := stop(); err != nil {
		inv.Log.Error("writing profile", "err", err)
	}
	return code
}

// startProfiles starts the profiles -cpuprofile and -memprofile ask for;
// the returned function stops them and writes the files.
func startProfiles(c CommonFlags) (func() error, error) {
	var cpu *os.File
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("-cpuprofile: %w", err)
		}
		cpu = f
	}
	return func() error {
		if cpu != nil {
			pprof.StopCPUProfile()
			if err := cpu.Close(); err != nil {
				return err
			}
		}
		if c.MemProfile != "" {
			f, err := os.Create(c.MemProfile)
			if err != nil {
				return err
			}
			runtime.GC()
			if err := pprof.WriteHeapProfile(f); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}
		return nil
	}, nil
}

func argsPhrase(cmd *Command) string {
	switch {
	case cmd.MaxArgs == 0:
		return "no arguments"
	case cmd.Args != "":
		return cmd.Args
	}
	return fmt.Sprintf("at most %d arguments", cmd.MaxArgs)
}

// newLogger logs to stderr: text for people, JSON with -log-format json
// or, by default, when the command was asked for machine output, so a
// consumer of -json can parse stderr too.
func newLogger(w io.Writer, c CommonFlags) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" || c.LogFormat == "" && c.JSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// writeOverview is `sluice help`: the commands, and the exit codes.
func (a *App) writeOverview(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [-version] [-help] <command> [args]\n\n", a.Name)
	fmt.Fprintf(w, "%s compiles HCL pipeline files into a physical plan and runs it.\n\n", a.Name)
	fmt.Fprintf(w, "Commands:\n")
	writeCommandList(w, a.Commands)
	fmt.Fprintf(w, "  %-*s  %s\n", nameWidth(a.Commands), "help", "Show help for a command")
	fmt.Fprintf(w, "\nExit codes:\n")
	for _, c := range ExitCodes {
		fmt.Fprintf(w, "  %-3d  %s\n", int(c), c.Describe())
	}
	fmt.Fprintf(w, "\nRun \"%s help <command>\" for a command's flags.\n", a.Name)
}

func nameWidth(cmds []*Command) int {
	n := len("help")
	for _, c := range cmds {
		n = max(n, len(c.Name))
	}
	return n
}

func writeCommandList(w io.Writer, cmds []*Command) {
	width := nameWidth(cmds)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.Name, c.Synopsis)
	}
}

// writeCommandHelp is `sluice help CMD` and `sluice CMD -h`.
func (a *App) writeCommandHelp(w io.Writer, cmd *Command, path []string) {
	prog := a.Name + " " + strings.Join(path, " ")
	if cmd.Setup == nil {
		fmt.Fprintf(w, "Usage: %s <subcommand> [options] [args]\n\n", prog)
	} else {
		line := prog + " [options]"
		if cmd.Args != "" {
			line += " " + cmd.Args
		}
		fmt.Fprintf(w, "Usage: %s\n\n", line)
	}
	if cmd.Synopsis != "" {
		fmt.Fprintf(w, "  %s\n\n", cmd.Synopsis)
	}
	if h := strings.Trim(cmd.Help, "\n"); h != "" {
		for _, l := range strings.Split(h, "\n") {
			if l == "" {
				fmt.Fprintln(w)
				continue
			}
			fmt.Fprintf(w, "  %s\n", l)
		}
		fmt.Fprintln(w)
	}
	if len(cmd.Subcommands) > 0 {
		fmt.Fprintf(w, "Subcommands:\n")
		writeCommandList(w, cmd.Subcommands)
		fmt.Fprintln(w)
	}
	if cmd.Setup == nil {
		return
	}
	fs := flag.NewFlagSet(prog, flag.ContinueOnError)
	cmd.Setup(fs)
	var common CommonFlags
	var logSet bool
	registerCommon(fs, cmd.Common, &common, &logSet, a.ParseSize)
	var own, shared []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if isCommonFlag(f.Name) {
			shared = append(shared, f)
		} else {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintf(w, "Options:\n")
		writeFlags(w, own)
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Common options:\n")
	writeFlags(w, shared)
	fmt.Fprintf(w, "\nFlags take one dash or two, `-flag=value` or `-flag value`, and may come\nbefore or after the arguments.\n")
}

// writeFlags prints flags sorted by name, aligned: "-name VALUE  usage"
// (the spelling with a space reads best; both are accepted).
func writeFlags(w io.Writer, flags []*flag.Flag) {
	sort.Slice(flags, func(i, j int) bool { return flags[i].Name < flags[j].Name })
	type row struct{ left, right string }
	rows := make([]row, 0, len(flags))
	width := 0
	for _, f := range flags {
		placeholder, usage := flag.UnquoteUsage(f)
		left := "-" + f.Name
		if placeholder != "" {
			left += " " + placeholder
		}
		if d := f.DefValue; d != "" && d != "false" && d != "0" {
			usage += fmt.Sprintf(" (default %s)", d)
		}
		rows = append(rows, row{left, usage})
		width = max(width, len(left))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r.left, r.right)
	}
}
