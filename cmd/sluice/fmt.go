package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/cmd/sluice/internal/diagview"
)

// stdinName names standard input in diagnostics and diffs.
const stdinName = "<stdin>"

func fmtCommand() *cli.Command {
	return &cli.Command{
		Name:     "fmt",
		Synopsis: "Rewrite configuration files in canonical format",
		Args:     "[PATH...]",
		MaxArgs:  -1,
		Common:   cli.CommonJSON,
		Help: `Formats *.hcl files (pipelines, *.test.hcl fixtures, *.vars.hcl variable
files, schemas) in the canonical style. A directory means its *.hcl files;
with -recursive, those of its subdirectories too (hidden ones skipped).
Default PATH: the current directory. "-" formats standard input to
standard output.

Files are rewritten in place and their names printed. A file that does
not parse is left alone, reported like validate does, and makes fmt exit 4.
With -check nothing is written: the names of files that would change are
printed and fmt exits 3 if there are any. With -json, one JSON document
on stdout lists every file looked at ("path", "changed"), whether files
were rewritten, and the diagnostics in validate -json's shape.`,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			f := &formatter{}
			fs.BoolVar(&f.check, "check", false, "Write nothing; exit 3 if any file is not formatted.")
			fs.BoolVar(&f.diff, "diff", false, "Print a unified diff of the changes.")
			fs.BoolVar(&f.recursive, "recursive", false, "Also format files in subdirectories.")
			return func(inv *cli.Invocation) cli.ExitCode {
				f.inv = inv
				return f.run()
			}
		},
	}
}

// formatter is one `sluice fmt` run.
type formatter struct {
	check, diff, recursive bool

	inv     *cli.Invocation
	sources *diagview.Sources
	diags   hcl.Diagnostics
	changed bool // some file is (or was) not formatted
	failed  bool // some path could not be read or written
	files   []fmtFile
}

// fmtFile is one file of fmt -json's "files".
type fmtFile struct {
	Path    string `json:"path"`
	Changed bool   `json:"changed"`
}

func (f *formatter) run() cli.ExitCode {
	f.sources = diagview.NewSources()
	paths := f.inv.Args
	if len(paths) == 0 {
		paths = []string{"."}
	}
	if n := countString(paths, "-"); n > 1 {
		return f.inv.UsageError(`"-" (standard input) given %d times`, n)
	} else if n == 1 && len(paths) > 1 {
		return f.inv.UsageError(`"-" (standard input) cannot be combined with other paths`)
	} else if n == 1 && f.inv.Common.JSON {
		return f.inv.UsageError(`-json cannot be combined with "-": standard output is the formatted input`)
	}
	for _, p := range paths {
		if p == "-" {
			f.formatStdin()
			continue
		}
		files, err := f.expand(p)
		if err != nil {
			f.errorf("%v", err)
			continue
		}
		for _, name := range files {
			f.formatFile(name)
		}
	}
	cwd, _ := os.Getwd()
	if f.inv.Common.JSON {
		f.inv.WriteJSON(map[string]any{
			"files":       append([]fmtFile{}, f.files...),
			"changed":     f.changed,
			"written":     f.changed && !f.check,
			"diagnostics": diagview.ToJSON(f.diags, diagview.Options{Sources: f.sources, Cwd: cwd}),
		})
	} else if len(f.diags) > 0 {
		diagview.WriteHuman(f.inv.Stderr, f.diags, diagview.Options{
			Color: f.inv.StderrColor, Sources: f.sources, Cwd: cwd,
		})
	}
	switch {
	case f.failed:
		return cli.ExitError
	case f.diags.HasErrors():
		return cli.ExitInvalid
	case f.check && f.changed:
		return cli.ExitFmtCheck
	}
	return cli.ExitOK
}

func countString(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func (f *formatter) errorf(format string, args ...any) {
	fmt.Fprintf(f.inv.Stderr, "%s: %s\n", f.inv.CommandPath(), fmt.Sprintf(format, args...))
	f.failed = true
}

// expand turns a path argument into the files to format, sorted. A file
// named explicitly is formatted whatever its extension: the user asked.
func (f *formatter) expand(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path == p {
				return nil
			}
			if !f.recursive || strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".hcl") && !strings.HasPrefix(name, ".") && d.Type().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// format returns the canonical form of src, or nil after recording the
// diagnostics when src does not parse: hclwrite formats tokens and would
// happily "format" broken input, so the syntax is checked first.
func (f *formatter) format(name string, src []byte) []byte {
	_, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		f.sources.Add(name, src)
		f.diags = append(f.diags, diags...)
		return nil
	}
	return hclwrite.Format(src)
}

func (f *formatter) formatStdin() {
	src, err := io.ReadAll(f.inv.Stdin)
	if err != nil {
		f.errorf("reading standard input: %v", err)
		return
	}
	out := f.format(stdinName, src)
	if out == nil {
		return
	}
	if !bytes.Equal(src, out) {
		f.changed = true
	}
	switch {
	case f.diff:
		f.inv.Stdout.Write(diff.Diff("a/"+stdinName, src, "b/"+stdinName, out))
	case !f.check:
		f.inv.Stdout.Write(out)
	}
}

func (f *formatter) formatFile(name string) {
	src, err := os.ReadFile(name)
	if err != nil {
		f.errorf("%v", err)
		return
	}
	out := f.format(name, src)
	if out == nil {
		return
	}
	changed := !bytes.Equal(src, out)
	f.files = append(f.files, fmtFile{Path: name, Changed: changed})
	if !changed {
		return
	}
	f.changed = true
	if !f.inv.Common.JSON {
		fmt.Fprintln(f.inv.Stdout, name)
	}
	if f.diff && !f.inv.Common.JSON {
		slash := filepath.ToSlash(name)
		f.inv.Stdout.Write(diff.Diff("a/"+slash, src, "b/"+slash, out))
	}
	if f.check {
		return
	}
	if err := writeFileAtomic(name, out); err != nil {
		f.errorf("%v", err)
	}
}

// writeFileAtomic replaces name's content through a temporary file in the
// same directory and a rename, keeping its permissions, so that an
// interrupted fmt never leaves a half-written configuration file.
func writeFileAtomic(name string, data []byte) (err error) {
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Chmod(tmp.Name(), st.Mode().Perm()); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}
