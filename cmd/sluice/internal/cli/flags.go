package cli

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/agext/levenshtein"
)

// StringList is a repeatable string flag: each occurrence appends.
type StringList []string

// String joins the values; flag uses it for defaults in help.
func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set appends one occurrence.
func (l *StringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// varFlag is -var NAME=VALUE: repeatable, and checked for the '=' here so
// that a typo is a usage error pointing at the flag rather than a
// configuration diagnostic about a variable named "".
type varFlag struct{ list *[]string }

func (v varFlag) String() string {
	if v.list == nil {
		return ""
	}
	return strings.Join(*v.list, ",")
}

func (v varFlag) Set(s string) error {
	name, _, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	*v.list = append(*v.list, s)
	return nil
}

// logLevels are the accepted -log-level / SLUICE_LOG names.
var logLevels = []struct {
	name  string
	level slog.Level
}{
	{"error", slog.LevelError}, {"warn", slog.LevelWarn},
	{"info", slog.LevelInfo}, {"debug", slog.LevelDebug},
}

// ParseLogLevel reads a level name (case-insensitive); "warning" is
// accepted for warn because people type it.
func ParseLogLevel(s string) (slog.Level, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if t == "warning" {
		t = "warn"
	}
	for _, l := range logLevels {
		if l.name == t {
			return l.level, nil
		}
	}
	return 0, fmt.Errorf("unknown log level %q (want error, warn, info or debug)", s)
}

type levelFlag struct {
	level *slog.Level
	set   *bool
}

func (f levelFlag) String() string {
	if f.level == nil {
		return ""
	}
	return strings.ToLower(f.level.String())
}

func (f levelFlag) Set(s string) error {
	l, err := ParseLogLevel(s)
	if err != nil {
		return err
	}
	*f.level, *f.set = l, true
	return nil
}

// logFormatFlag is -log-format: "text" or "json".
type logFormatFlag struct{ s *string }

func (f logFormatFlag) String() string {
	if f.s == nil {
		return ""
	}
	return *f.s
}

func (f logFormatFlag) Set(s string) error {
	if s != "text" && s != "json" {
		return fmt.Errorf("want text or json, got %q", s)
	}
	*f.s = s
	return nil
}

// sizeFlag is a byte size. The grammar ("512MiB", "2GB") is the
// language's, supplied by the App (spec.ParseSize) so that the flag and the
// configuration can never disagree; without one, only plain bytes parse.
type sizeFlag struct {
	n     *int64
	parse func(string) (int64, error)
}

func (f sizeFlag) String() string {
	if f.n == nil || *f.n == 0 {
		return ""
	}
	return strconv.FormatInt(*f.n, 10)
}

func (f sizeFlag) Set(s string) error {
	parse := f.parse
	if parse == nil {
		parse = func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
	}
	n, err := parse(s)
	if err != nil {
		return err
	}
	if n <= 0 {
		return fmt.Errorf("want a positive size, got %q", s)
	}
	*f.n = n
	return nil
}

// positiveInt is an int flag that must be > 0.
type positiveInt struct{ n *int }

func (f positiveInt) String() string {
	if f.n == nil || *f.n == 0 {
		return ""
	}
	return strconv.Itoa(*f.n)
}

func (f positiveInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a positive integer, got %q", s)
	}
	*f.n = n
	return nil
}

// registerCommon defines the shared flags selected by groups on fs.
// logSet reports whether -log-level was given (it then beats SLUICE_LOG).
func registerCommon(fs *flag.FlagSet, groups Common, c *CommonFlags, logSet *bool, parseSize func(string) (int64, error)) {
	if groups&CommonVars != 0 {
		fs.Var(varFlag{&c.Vars}, "var", "Set a variable: `NAME=VALUE`. Repeatable; later wins.")
		fs.Var((*StringList)(&c.VarFiles), "var-file", "Load variable values from `FILE` (a *.vars.hcl file). Repeatable, in order; -var beats it.")
	}
	if groups&CommonJSON != 0 {
		fs.BoolVar(&c.JSON, "json", false, "Machine-readable JSON on stdout.")
	}
	if groups&CommonExec != 0 {
		fs.Var(positiveInt{&c.Parallelism}, "parallelism", "Run at most `N` tasks at once (default: number of CPUs).")
		fs.Var(sizeFlag{&c.MemoryLimit, parseSize}, "memory-limit", "Bound buffered data to `SIZE` (e.g. 2GiB).")
		fs.StringVar(&c.CPUProfile, "cpuprofile", "", "Write a CPU profile of the run to `FILE` (go tool pprof).")
		fs.StringVar(&c.MemProfile, "memprofile", "", "Write a heap profile at the end of the run to `FILE`.")
	}
	c.LogLevel = slog.LevelWarn // also the default help shows
	fs.Var(levelFlag{&c.LogLevel, logSet}, "log-level", "Log `LEVEL` on stderr: error, warn, info or debug (env SLUICE_LOG).")
	fs.Var(logFormatFlag{&c.LogFormat}, "log-format", "Log lines as `FORMAT`: text or json (default: json with -json, else text).")
	fs.BoolVar(&c.NoColor, "no-color", false, "Never write ANSI colors (also when NO_COLOR is set).")
}

// isCommonFlag says whether name is defined by registerCommon, so help can
// list command flags and common flags apart.
func isCommonFlag(name string) bool {
	switch name {
	case "var", "var-file", "json", "parallelism", "memory-limit", "cpuprofile", "memprofile", "log-level", "log-format", "no-color":
		return true
	}
	return false
}

// errHelp is returned by parseArgs when -h / -help was given.
var errHelp = flag.ErrHelp

// parseArgs parses flags and positional arguments in any order. The std
// flag package stops at the first positional argument; Terraform users
// write `sluice plan pipelines/ -out p.plan`, so after each stop one
// positional is taken and parsing resumes. A literal "--" ends flags: what
// follows is positional even if it starts with a dash.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard) // errors are reported by the caller, in one line
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" && !isFlagValue(fs, args[:consumed-1]) {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// isFlagValue says whether the argument after prefix would be the value of
// a non-boolean flag written with a space (`-var --`), in which case a "--"
// there is a value, not the end of flags.
func isFlagValue(fs *flag.FlagSet, prefix []string) bool {
	if len(prefix) == 0 {
		return false
	}
	last := prefix[len(prefix)-1]
	if !strings.HasPrefix(last, "-") || strings.Contains(last, "=") {
		return false
	}
	f := fs.Lookup(strings.TrimLeft(last, "-"))
	if f == nil {
		return false
	}
	if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
		return false
	}
	return true
}

// flagErrorMessage rewrites the std flag package's messages where they are
// unhelpful to a user, and keeps them otherwise.
func flagErrorMessage(fs *flag.FlagSet, err error) string {
	msg := err.Error()
	if rest, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		return "unknown flag " + rest + flagSuggestion(fs, strings.TrimLeft(rest, "-"))
	}
	return msg
}

// otherToolFlags are flags users bring from Terraform and the aws CLI,
// with what sluice calls the same idea.
var otherToolFlags = map[string]string{
	"target": "pipeline", // Terraform's -target
	"only":   "pipeline",
}

// flagSuggestion says which flag of fs was meant: the nearest by edit
// distance (a typo), or sluice's name for another tool's flag.
func flagSuggestion(fs *flag.FlagSet, name string) string {
	if alt, ok := otherToolFlags[name]; ok && fs.Lookup(alt) != nil {
		return fmt.Sprintf("; sluice selects with -%s (did you mean -%s?)", alt, alt)
	}
	switch name {
	case "profile": // the aws CLI's
		return "; sluice reads the AWS profile from AWS_PROFILE (docs/s3.md)"
	case "dry-run":
		return "; sluice plan shows what a run would do without doing it"
	}
	best, bestD := "", 3
	fs.VisitAll(func(f *flag.Flag) {
		if d := levenshtein.Distance(name, f.Name, nil); d < bestD {
			best, bestD = f.Name, d
		}
	})
	if best != "" {
		return fmt.Sprintf("; did you mean -%s?", best)
	}
	return ""
}
