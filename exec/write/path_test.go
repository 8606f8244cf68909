package write

import "testing"

func TestEscapePathValue(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"eu", "eu"},
		{"", DefaultPartition},
		{"a/b", "a%2Fb"},
		{"k=v", "k%3Dv"},
		{"100%", "100%25"},
		{"2026-01-02 10:00:00", "2026-01-02 10%3A00%3A00"},
		{"what?#frag", "what%3F%23frag"},
		{"tab\there\n", "tab%09here%0A"},
		{"del\x7f", "del%7F"},
		{`q"u'o*t\e{[]}^`, "q%22u%27o%2At%5Ce%7B%5B%5D}%5E"},
		{"ünïcödé space", "ünïcödé space"},
		{DefaultPartition, DefaultPartition},
	} {
		got := EscapePathValue(c.in)
		if got != c.want {
			t.Errorf("EscapePathValue(%q) = %q, want %q", c.in, got, c.want)
		}
		if c.in != "" && UnescapePathValue(got) != c.in {
			t.Errorf("UnescapePathValue(%q) = %q, want %q", got, UnescapePathValue(got), c.in)
		}
	}
}

func TestUnescapeLenient(t *testing.T) {
	// Other engines escape more (%20); bad sequences are kept as they are.
	for in, want := range map[string]string{"a%20b": "a b", "50%": "50%", "%zz": "%zz", "%4": "%4", "%41%42": "AB"} {
		if got := UnescapePathValue(in); got != want {
			t.Errorf("UnescapePathValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPartitionPath(t *testing.T) {
	if got := PartitionPath(nil, nil); got != "" {
		t.Errorf("no keys: %q", got)
	}
	got := PartitionPath([]string{"dt", "region"}, []string{"2026-01-02", "eu/west"})
	if want := "dt=2026-01-02/region=eu%2Fwest/"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got = PartitionPath([]string{"a=b"}, []string{""})
	if want := "a%3Db=" + DefaultPartition + "/"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
