package spec

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the want.txt section of testdata/errors/*.txtar")

// Each testdata/errors/*.txtar case is one broken configuration. Files are
// written to a temporary directory; special sections:
//
//	args      one option per line: "-var k=v", "-var-file PATH", "env K=V",
//	          "dir SUBDIR" (the configuration directory, default the root)
//	expect    diagnostics that a marker cannot sit on, one per line:
//	          "ERROR file:line:col Summary" or "ERROR - Summary" (no range)
//	want.txt  the rendered diagnostics (golden; go test -update rewrites it)
//
// Any other file may mark the diagnostic expected on a line with a comment
// on that line: "# ERROR: <col> <Summary>" (or WARNING), or, where a comment
// cannot sit on the line (inside a string or heredoc), "# ERROR@<line>: <col> <Summary>".
// Every diagnostic must be expected and every expectation met, exactly.
var markerRe = regexp.MustCompile(`(?:#|//) (ERROR|WARNING)(?:@(\d+))?: (\d+) (.+?)\s*$`)

type errCase struct {
	name    string
	archive *txtar.Archive
	path    string
}

func loadCases(t *testing.T) []errCase {
	t.Helper()
	paths, err := filepath.Glob("testdata/errors/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var out []errCase
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, errCase{strings.TrimSuffix(filepath.Base(p), ".txtar"), a, p})
	}
	return out
}

func TestErrorCorpus(t *testing.T) {
	cases := loadCases(t)
	if len(cases) < 30 {
		t.Errorf("only %d error cases; the corpus must hold at least 30", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			var opts LoadOptions
			confDir := root
			var want []string
			var wantText []byte
			for _, f := range c.archive.Files {
				switch f.Name {
				case "args":
					for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
						k, v, _ := strings.Cut(strings.TrimSpace(line), " ")
						switch k {
						case "-var":
							opts.Vars = append(opts.Vars, v)
						case "-var-file":
							opts.VarFiles = append(opts.VarFiles, filepath.Join(root, v))
						case "env":
							opts.Environ = append(opts.Environ, v)
						case "dir":
							confDir = filepath.Join(root, v)
						case "":
						default:
							t.Fatalf("unknown args line %q", line)
						}
					}
				case "expect":
					for _, line := range strings.Split(strings.TrimSpace(string(f.Data)), "\n") {
						if line = strings.TrimSpace(line); line != "" {
							want = append(want, line)
						}
					}
				case "want.txt":
					wantText = f.Data
				default:
					p := filepath.Join(root, f.Name)
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, f.Data, 0o644); err != nil {
						t.Fatal(err)
					}
					want = append(want, markers(t, f.Name, f.Data)...)
				}
			}
			cfg, diags := Load(confDir, opts)
			var got []string
			for _, d := range diags {
				got = append(got, diagKey(root, d))
			}
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("diagnostics differ\n got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
			}
			if !diags.HasErrors() && !strings.Contains(strings.Join(want, "\n"), "ERROR") {
				// A warning-only case: fine.
			} else if !diags.HasErrors() {
				t.Errorf("no error diagnostics")
			}
			rendered := render(root, cfg, diags)
			if *update {
				writeWant(t, c, rendered)
				return
			}
			if !bytes.Equal(rendered, wantText) {
				t.Errorf("rendered diagnostics differ from want.txt (go test -run TestErrorCorpus -update)\n got:\n%s\nwant:\n%s", rendered, wantText)
			}
		})
	}
}

func markers(t *testing.T, name string, data []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		m := markerRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ln := fmt.Sprint(line)
		if m[2] != "" {
			ln = m[2]
		}
		out = append(out, fmt.Sprintf("%s %s:%s:%s %s", m[1], name, ln, m[3], m[4]))
	}
	return out
}

func diagKey(root string, d *hcl.Diagnostic) string {
	sev := "ERROR"
	if d.Severity == hcl.DiagWarning {
		sev = "WARNING"
	}
	if d.Subject == nil {
		return fmt.Sprintf("%s - %s", sev, d.Summary)
	}
	rel, err := filepath.Rel(root, d.Subject.Filename)
	if err != nil {
		rel = d.Subject.Filename
	}
	return fmt.Sprintf("%s %s:%d:%d %s", sev, filepath.ToSlash(rel), d.Subject.Start.Line, d.Subject.Start.Column, d.Summary)
}

// render prints the diagnostics as the CLI does (source line and caret
// underline), with the temporary directory replaced by $DIR.
func render(root string, cfg *Config, diags hcl.Diagnostics) []byte {
	files := map[string]*hcl.File{}
	for n, b := range cfg.Sources {
		files[n] = &hcl.File{Bytes: b}
	}
	var buf bytes.Buffer
	w := hcl.NewDiagnosticTextWriter(&buf, files, 0, false)
	for _, d := range diags {
		_ = w.WriteDiagnostic(d)
	}
	return bytes.ReplaceAll(buf.Bytes(), []byte(root), []byte("$DIR"))
}

func writeWant(t *testing.T, c errCase, rendered []byte) {
	var files []txtar.File
	for _, f := range c.archive.Files {
		if f.Name != "want.txt" {
			files = append(files, f)
		}
	}
	c.archive.Files = append(files, txtar.File{Name: "want.txt", Data: rendered})
	if err := os.WriteFile(c.path, txtar.Format(c.archive), 0o644); err != nil {
		t.Fatal(err)
	}
}
