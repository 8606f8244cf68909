package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/mattn/go-isatty"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/exec/decode"
	"github.com/sluicedata/sluice/exec/write"
	"github.com/sluicedata/sluice/spec"
)

func main() {
	// Standard Snappy from s2's default-speed encoder: ~2% larger pages
	// than arrow-go's "better" mode for ~30% less writer CPU. Process-wide,
	// so it is set here, before anything reads or writes Parquet.
	write.UseFastSnappy()
	// After the writer's codecs: it wraps whichever are registered (LZ4,
	// empty page bodies).
	decode.UseReadCodecs()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run is the whole program minus os.Exit, so that tests drive it with
// their own streams. SIGINT and SIGTERM cancel the context that commands
// receive; a command that stops because of it returns cli.ExitInterrupted.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// After the first signal, restore the default handling so that a
		// second Ctrl-C kills a command that does not stop in time.
		<-ctx.Done()
		stop()
	}()
	app := &cli.App{
		Name:       "sluice",
		Commands:   commands(),
		Stdin:      stdin,
		Stdout:     stdout,
		Stderr:     stderr,
		Getenv:     os.Getenv,
		Environ:    os.Environ(),
		IsTerminal: isTerminal,
		ParseSize:  spec.ParseSize,
	}
	return int(app.Run(ctx, args))
}

// commands is every command sluice offers, in the order `sluice help`
// lists them.
func commands() []*cli.Command {
	return []*cli.Command{
		validateCommand(),
		fmtCommand(),
		planCommand(),
		showCommand(),
		applyCommand(),
		workerCommand(),
		taskCommand(),
		stateCommand(),
		tableCommand(),
		testCommand(),
		graphCommand(),
		versionCommand(),
		completionCommand(),
	}
}

// isTerminal reports whether w is a terminal (colors are written only then).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}
