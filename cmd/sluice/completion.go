package main

import (
	"flag"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
)

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:     "completion",
		Synopsis: "Print a shell completion script (bash, zsh, fish)",
		Args:     "SHELL",
		MinArgs:  1,
		MaxArgs:  1,
		Help: `Prints the completion script for SHELL: bash, zsh or fish. It completes
command and subcommand names, each command's flags, and file names.

  bash:  source <(sluice completion bash)       (or save it under
         /etc/bash_completion.d/ or ~/.local/share/bash-completion/completions/)
  zsh:   source <(sluice completion zsh)         (in ~/.zshrc)
  fish:  sluice completion fish > ~/.config/fish/completions/sluice.fish`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			return func(inv *cli.Invocation) cli.ExitCode {
				if err := inv.Completion(inv.Stdout, inv.Args[0]); err != nil {
					return inv.UsageError("%v", err)
				}
				return cli.ExitOK
			}
		},
	}
}
