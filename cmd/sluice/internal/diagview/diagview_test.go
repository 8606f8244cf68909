package diagview

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/rivo/uniseg"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The source the diagnostics point into: tab indentation, a multi-byte
// Latin letter, wide CJK characters, an emoji and a combining accent, all
// before the columns the carets must land on.
const mainSrc = "pipeline \"orders\" {\n" +
	"\tsource \"raw\" {\n" +
	"\t\twhere = \"naïve > 1 && 日本 == 'x' && amout > 0\"\n" +
	"\t\turl = \"s3://b/🚀/e\u0301t\u00e9\" # bad\n" +
	"\t}\n" +
	"}\n"

const mainFile = "/work/cfg/pipelines/main.hcl"

// rangeOf is the range of the nth (0-based) occurrence of sub in src,
// with HCL's conventions: 1-based lines, columns in grapheme clusters,
// 0-based byte offsets, exclusive end.
func rangeOf(t *testing.T, filename, src, sub string, nth int) *hcl.Range {
	t.Helper()
	off := -1
	for i := 0; i <= nth; i++ {
		j := strings.Index(src[off+1:], sub)
		if j < 0 {
			t.Fatalf("%q occurs fewer than %d times", sub, nth+1)
		}
		off += 1 + j
	}
	pos := func(b int) hcl.Pos {
		lineStart := strings.LastIndexByte(src[:b], '\n') + 1
		return hcl.Pos{
			Line:   strings.Count(src[:b], "\n") + 1,
			Column: uniseg.GraphemeClusterCount(src[lineStart:b]) + 1,
			Byte:   b,
		}
	}
	return &hcl.Range{Filename: filename, Start: pos(off), End: pos(off + len(sub))}
}

func testDiags(t *testing.T) hcl.Diagnostics {
	t.Helper()
	multi := rangeOf(t, mainFile, mainSrc, "source", 0)
	multi.End = rangeOf(t, mainFile, mainSrc, "}", 0).End
	colOnly := *rangeOf(t, mainFile, mainSrc, "url", 0)
	colOnly.Start.Byte, colOnly.End.Byte = 0, 0 // a hand-built range without bytes
	return hcl.Diagnostics{
		{
			Severity: hcl.DiagError,
			Summary:  `Unknown column "amout"`,
			Detail:   `Source "raw" has no column "amout"; did you mean "amount"?`,
			Subject:  rangeOf(t, mainFile, mainSrc, "amout", 0),
		},
		{
			Severity: hcl.DiagError,
			Summary:  "Wide characters before and under the caret",
			Detail:   "The underline covers two columns per character.",
			Subject:  rangeOf(t, mainFile, mainSrc, "日本", 0),
		},
		{
			Severity: hcl.DiagWarning,
			Summary:  "After an emoji and a combining accent",
			Detail:   "First line of the detail.\n\nA second paragraph.",
			Subject:  rangeOf(t, mainFile, mainSrc, "# bad", 0),
		},
		{
			Severity: hcl.DiagError,
			Summary:  "A range over several lines",
			Detail:   "Only its first line is shown, with a caret at its start.",
			Subject:  multi,
		},
		{
			Severity: hcl.DiagError,
			Summary:  "A range without byte offsets",
			Subject:  &colOnly,
		},
		{
			Severity: hcl.DiagError,
			Summary:  "An empty range",
			Subject:  &hcl.Range{Filename: mainFile, Start: rangeOf(t, mainFile, mainSrc, "{", 1).Start, End: rangeOf(t, mainFile, mainSrc, "{", 1).Start},
		},
		{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   "A diagnostic with no place in a file.",
		},
		{
			Severity: hcl.DiagError,
			Summary:  "A file that cannot be read",
			Detail:   "Printed without a source line.",
			Subject:  &hcl.Range{Filename: "/work/cfg/gone.hcl", Start: hcl.Pos{Line: 3, Column: 2, Byte: 30}, End: hcl.Pos{Line: 3, Column: 5, Byte: 33}},
		},
	}
}

// testSources serves mainSrc and a broken file from memory; anything else
// fails to read, like a file deleted since it was loaded.
func testSources(extra map[string]string) *Sources {
	s := NewSources()
	s.ReadFile = func(name string) ([]byte, error) {
		if name == mainFile {
			return []byte(mainSrc), nil
		}
		if src, ok := extra[name]; ok {
			return []byte(src), nil
		}
		return nil, os.ErrNotExist
	}
	return s
}

// A real parser diagnostic, so that the renderer is checked against the
// ranges hclsyntax produces and not only against hand-made ones.
const brokenFile = "/work/cfg/broken.hcl"
const brokenSrc = "locals {\n\tname = \"größe\" \"日本\"\n}\n"

func parseDiags(t *testing.T) hcl.Diagnostics {
	t.Helper()
	_, diags := hclsyntax.ParseConfig([]byte(brokenSrc), brokenFile, hcl.InitialPos)
	if !diags.HasErrors() {
		t.Fatal("the broken file parsed")
	}
	return diags
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestHumanGolden(t *testing.T) {
	diags := append(testDiags(t), parseDiags(t)...)
	var buf bytes.Buffer
	opts := Options{Sources: testSources(map[string]string{brokenFile: brokenSrc}), Cwd: "/work/cfg"}
	if err := WriteHuman(&buf, diags, opts); err != nil {
		t.Fatal(err)
	}
	golden(t, "human.golden", buf.Bytes())

	buf.Reset()
	opts.Color = true
	if err := WriteHuman(&buf, diags[:1], opts); err != nil {
		t.Fatal(err)
	}
	golden(t, "human-color.golden", buf.Bytes())
}

// TestCaretColumns checks the carets independently of the golden file: the
// caret line's display column must equal the display width of the source
// text before the range, for every diagnostic with a one-line range.
func TestCaretColumns(t *testing.T) {
	for _, d := range testDiags(t)[:3] {
		var buf bytes.Buffer
		WriteHuman(&buf, hcl.Diagnostics{d}, Options{Sources: testSources(nil)})
		lines := strings.Split(buf.String(), "\n")
		if len(lines) < 3 {
			t.Fatalf("%s: no snippet in\n%s", d.Summary, buf.String())
		}
		src, caret := lines[1], lines[2]
		gutter := strings.Index(src, "| ") + 2
		srcLine := strings.Split(mainSrc, "\n")[d.Subject.Start.Line-1]
		lineStart := strings.Index(mainSrc, srcLine)
		before := srcLine[:d.Subject.Start.Byte-lineStart]
		under := srcLine[d.Subject.Start.Byte-lineStart : d.Subject.End.Byte-lineStart]
		wantCol := uniseg.StringWidth(strings.ReplaceAll(before, "\t", "    "))
		if got := strings.Index(caret, "^") - gutter; got != wantCol {
			t.Errorf("%s: caret at display column %d, want %d\n%s", d.Summary, got, wantCol, buf.String())
		}
		if got, want := strings.Count(caret, "^")+strings.Count(caret, "~"), uniseg.StringWidth(under); got != want {
			t.Errorf("%s: underline %d columns wide, want %d (%q)", d.Summary, got, want, under)
		}
		// The shown source line must be the file's line with tabs expanded.
		if got, want := src[gutter:], strings.ReplaceAll(srcLine, "\t", "    "); got != want {
			t.Errorf("%s: shown %q, want %q", d.Summary, got, want)
		}
	}
}

func TestJSONGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteValidateJSON(&buf, testDiags(t)[:3], Options{Cwd: "/work/cfg"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "validate.json", buf.Bytes())

	var doc ValidateJSON
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Valid || doc.ErrorCount != 2 || doc.WarningCount != 1 || doc.FormatVersion != "1.0" {
		t.Errorf("counts: %+v", doc)
	}
}

func TestJSONNoDiagnostics(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteValidateJSON(&buf, nil, Options{}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"format_version\": \"1.0\",\n  \"valid\": true,\n  \"error_count\": 0,\n  \"warning_count\": 0,\n  \"diagnostics\": []\n}\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestGitHubGolden(t *testing.T) {
	diags := testDiags(t)
	diags = append(diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Escaping: 100%, a:b, c,d",
		Detail:   "line one\r\nline two: 50%, done",
		Subject:  &hcl.Range{Filename: "/work/cfg/dir,with:odd/x.hcl", Start: hcl.Pos{Line: 1, Column: 1}, End: hcl.Pos{Line: 1, Column: 4, Byte: 3}},
	})
	var buf bytes.Buffer
	if err := WriteGitHub(&buf, diags, Options{Cwd: "/work/cfg"}); err != nil {
		t.Fatal(err)
	}
	golden(t, "github.golden", buf.Bytes())
}

func TestEscape(t *testing.T) {
	for _, c := range []struct{ in, data, prop string }{
		{"plain", "plain", "plain"},
		{"50%", "50%25", "50%25"},
		{"a\r\nb", "a%0D%0Ab", "a%0D%0Ab"},
		{"k:v,w", "k:v,w", "k%3Av%2Cw"},
		{"%0A", "%250A", "%250A"}, // an already-escaped look-alike stays literal
	} {
		if got := escapeData(c.in); got != c.data {
			t.Errorf("escapeData(%q) = %q, want %q", c.in, got, c.data)
		}
		if got := escapeProperty(c.in); got != c.prop {
			t.Errorf("escapeProperty(%q) = %q, want %q", c.in, got, c.prop)
		}
	}
}

func TestDisplayPath(t *testing.T) {
	for _, c := range []struct{ name, cwd, want string }{
		{"/work/cfg/pipelines/a.hcl", "/work/cfg", "pipelines/a.hcl"},
		{"pipelines/a.hcl", "/work/cfg", "pipelines/a.hcl"},
		{"/work/schemas/s.hcl", "/work/cfg", "../schemas/s.hcl"},
		{"/etc/x.hcl", "/home/user/deep/down/here", "/etc/x.hcl"},
		{"/work/cfg/a.hcl", "", "/work/cfg/a.hcl"},
		{"<stdin>", "/work/cfg", "<stdin>"},
	} {
		if got := DisplayPath(c.name, c.cwd); got != c.want {
			t.Errorf("DisplayPath(%q, %q) = %q, want %q", c.name, c.cwd, got, c.want)
		}
	}
}

func TestSourcesReadOnce(t *testing.T) {
	reads := 0
	s := NewSources()
	s.ReadFile = func(string) ([]byte, error) { reads++; return []byte("x"), nil }
	for range 3 {
		if _, ok := s.Get("a.hcl"); !ok {
			t.Fatal("not found")
		}
	}
	if reads != 1 {
		t.Errorf("read %d times, want 1", reads)
	}
}
