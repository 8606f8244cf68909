package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hashicorp/hcl/v2"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/diagview"
	"github.com/sluicedata/sluice/spec"
)

// validateFormat is the output format of validate.
type validateFormat int

const (
	validateHuman validateFormat = iota
	validateJSON
	validateGitHub
)

func (f validateFormat) String() string {
	switch f {
	case validateHuman:
		return "human"
	case validateJSON:
		return "json"
	case validateGitHub:
		return "github"
	}
	return fmt.Sprintf("validateFormat(%d)", int(f))
}

func parseValidateFormat(s string) (validateFormat, bool) {
	for _, f := range []validateFormat{validateHuman, validateJSON, validateGitHub} {
		if f.String() == s {
			return f, true
		}
	}
	return 0, false
}

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:     "validate",
		Synopsis: "Check that a configuration is valid",
		Args:     "[DIR]",
		MaxArgs:  1,
		Common:   cli.CommonVars | cli.CommonJSON,
		Help: `Parses and decodes every *.hcl file of DIR (default: the current
directory), and type-checks every expression against its declared schema.
Offline: it reads no data and needs no credentials.

Exits 0 when the configuration is valid (warnings are printed), 4 when it
is not. Diagnostics go to stderr, as file:line:col: error: summary, the
source line with a caret under the column, and the detail.

With -json (or -format json), stdout holds one JSON document:
{"format_version":"1.0","valid":..,"error_count":..,"warning_count":..,
"diagnostics":[{"severity","summary","detail","range"}]}.
With -format github, stdout holds GitHub Actions annotations
(::error file=..,line=..::..), one per diagnostic.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			format := fs.String("format", "human", "Output `FORMAT`: human, json or github (GitHub Actions annotations).")
			return func(inv *cli.Invocation) cli.ExitCode {
				f, ok := parseValidateFormat(*format)
				if !ok {
					return inv.UsageError("unknown -format %q (want human, json or github)", *format)
				}
				if inv.Common.JSON {
					if f == validateGitHub {
						return inv.UsageError("-json and -format github exclude each other")
					}
					f = validateJSON
				}
				return runValidate(inv, f)
			}
		},
	}
}

func runValidate(inv *cli.Invocation, format validateFormat) cli.ExitCode {
	dir := "."
	if len(inv.Args) == 1 {
		dir = inv.Args[0]
	}
	cfg, diags := spec.Load(dir, spec.LoadOptions{
		Vars:     inv.Common.Vars,
		VarFiles: inv.Common.VarFiles,
		Environ:  inv.Environ,
	})
	if cfg != nil {
		inv.Log.Debug("configuration loaded", "dir", cfg.Dir, "files", len(cfg.Files), "pipelines", len(cfg.Pipelines))
	}
	cwd, _ := os.Getwd()
	opts := diagview.Options{Sources: diagview.NewSources(), Cwd: cwd}
	switch format {
	case validateJSON:
		if err := diagview.WriteValidateJSON(inv.Stdout, diags, opts); err != nil {
			return inv.Errorf("writing output: %v", err)
		}
	case validateGitHub:
		if err := diagview.WriteGitHub(inv.Stdout, diags, opts); err != nil {
			return inv.Errorf("writing output: %v", err)
		}
	default:
		opts.Color = inv.StderrColor
		diagview.WriteHuman(inv.Stderr, diags, opts)
		if diags.HasErrors() {
			errs, warns := count(diags)
			fmt.Fprintf(inv.Stderr, "\nThe configuration is invalid: %s, %s.\n", plural(errs, "error"), plural(warns, "warning"))
		} else {
			if len(diags) > 0 {
				fmt.Fprintln(inv.Stderr)
			}
			fmt.Fprintln(inv.Stdout, "Success! The configuration is valid.")
		}
	}
	if diags.HasErrors() {
		return cli.ExitInvalid
	}
	return cli.ExitOK
}

func count(diags hcl.Diagnostics) (errs, warns int) {
	for _, d := range diags {
		switch d.Severity {
		case hcl.DiagError:
			errs++
		case hcl.DiagWarning:
			warns++
		}
	}
	return errs, warns
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
