package hive

import (
	"strings"
	"testing"
)

// FuzzRoundTrip: escaping then unescaping gives any string back, and
// parsing a rendered directory gives its values back; unescaping never
// fails and never grows a string; an escaped value has no '/' or '=' to
// break the key=value/ structure, and a directory of values is never hidden.
func FuzzRoundTrip(f *testing.F) {
	for _, s := range []string{"", "eu", "50%off", "%25", "50%25off", "%zz", "%", "a%", "%4", "a/b=c", "ü日本", "\x00\x7f", DefaultPartition, "a\xffb"} {
		f.Add(s, "region")
	}
	f.Fuzz(func(t *testing.T, v, w string) {
		if got := Unescape(Escape(v)); got != v {
			t.Fatalf("Unescape(Escape(%q)) = %q", v, got)
		}
		e := EscapeValue(v)
		if strings.ContainsAny(e, "/=") {
			t.Fatalf("EscapeValue(%q) = %q holds / or =", v, e)
		}
		// Any text is a value somebody may have written: it decodes.
		if u := Unescape(v); len(u) > len(v) {
			t.Fatalf("Unescape(%q) = %q is longer", v, u)
		}
		keys := []string{"dt", "region"}
		vals := []string{v, w}
		rel := Dir(keys, vals) + "part-0.parquet"
		got := Parse(rel, keys)
		if len(got) != len(keys) {
			t.Fatalf("Parse(%q) = %+v: %d values, want %d", rel, got, len(got), len(keys))
		}
		for i, x := range vals {
			want := Value{Text: x}
			// A path cannot tell "" from null, nor a value spelled like
			// the marker from null (Hive's own ambiguity).
			if x == "" || x == DefaultPartition {
				want = Value{Null: true}
			}
			if got[i] != want {
				t.Fatalf("Parse(Dir(%q)) value %d = %+v, want %+v", vals, i, got[i], want)
			}
		}
		if Hidden(rel) {
			// Each segment starts with its key, whatever the value.
			t.Fatalf("Hidden(%q) = true", rel)
		}
	})
}
