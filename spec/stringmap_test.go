package spec

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/sluicedata/sluice/spec/predicate"
)

// TestStringMap parses `x = <expr>` with HCL itself, evaluates it, and
// checks that every listed substring of the value maps back onto exactly
// the same text in the source: the map is right when the bytes under the
// range are the bytes the user wrote for that part of the value.
func TestStringMap(t *testing.T) {
	cases := []struct {
		name  string
		src   string
		parts map[string]string // substring of the value → source text it must map to
		exact bool              // false: an interpolated expression, the map is the whole range
	}{
		{"plain", `x = "a > 1"`, map[string]string{"a": "a", "1": "1"}, true},
		{"escapes", `x = "a == \"q\\\" \n\t\" && b"`, map[string]string{"\"q\\\"": `\"q\\\"`, "\n\t": `\n\t`, "b": "b"}, true},
		{"unicode escape", `x = "s == '\u00e9\U0001F600' && z"`, map[string]string{"é": `\u00e9`, "😀": `\U0001F600`, "z": "z"}, true},
		{"template escapes", `x = "a == '$${x}' && b == '%%{y}'"`, map[string]string{"${x}": "$${x}", "%{y}": "%%{y}", "b": "b"}, true},
		{"multibyte", `x = "ü == 'ß' && k"`, map[string]string{"ü": "ü", "'ß'": "'ß'", "k": "k"}, true},
		{"heredoc", "x = <<EOT\na > 1 &&\n  b < 2\nEOT\n", map[string]string{"a": "a", "b < 2": "b < 2"}, true},
		{"flush heredoc", "x = <<-EOT\n    a > 1 &&\n\n      b < 2\n    EOT\n", map[string]string{"a > 1": "a > 1", "b": "b", "2": "2"}, true},
		{"interpolated", `x = "${"a"} > 1"`, nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, d := hclsyntax.ParseConfig([]byte(c.src), "t.hcl", hcl.InitialPos)
			if d.HasErrors() {
				t.Fatal(d)
			}
			attrs, _ := f.Body.JustAttributes()
			expr := attrs["x"].Expr
			v, d := expr.Value(nil)
			if d.HasErrors() {
				t.Fatal(d)
			}
			val := v.AsString()
			m := newStringMap(expr, f.Bytes, val)
			if (m.offs != nil) != c.exact {
				t.Fatalf("exact map = %v, want %v (value %q)", m.offs != nil, c.exact, val)
			}
			if !c.exact {
				if r := m.rangeOf(predicate.Span{Start: 0, End: 1}); r != expr.Range() {
					t.Errorf("interpolated: range %v, want the expression %v", r, expr.Range())
				}
				return
			}
			for part, want := range c.parts {
				i := strings.Index(val, part)
				if i < 0 {
					t.Fatalf("%q not in value %q", part, val)
				}
				r := m.rangeOf(predicate.Span{Start: i, End: i + len(part)})
				if got := string(f.Bytes[r.Start.Byte:r.End.Byte]); got != want {
					t.Errorf("%q maps to %q, want %q", part, got, want)
				}
				// Line and column agree with the byte offset.
				if p := posAt(f.Bytes, r.Start.Byte); p != r.Start {
					t.Errorf("pos %v != %v", r.Start, p)
				}
			}
		})
	}
}
