package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestTutorialMatchesScript keeps docs/tutorial.md and
// testdata/script/tutorial.txtar in step: every command of the page's sh
// blocks must be a command of the script, in the same order (a `cd` as
// testscript's cd, anything else run verbatim by `exec sh -c`), and every
// file the page shows (an hcl block whose first line is "# PATH") must be
// the script's page/PATH, byte for byte. TestScripts then runs the script,
// so the tour as written is what CI runs.
func TestTutorialMatchesScript(t *testing.T) {
	page, err := os.ReadFile("../../docs/tutorial.md")
	if err != nil {
		t.Fatal(err)
	}
	ar, err := txtar.ParseFile("testdata/script/tutorial.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var script []string
	for _, l := range strings.Split(string(ar.Comment), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			script = append(script, l)
		}
	}
	files := map[string]string{}
	for _, f := range ar.Files {
		files[f.Name] = string(f.Data)
	}

	commands, shown := tutorialBlocks(string(page))
	if len(commands) < 10 || len(shown) < 3 {
		t.Fatalf("found %d commands and %d files in docs/tutorial.md; the page's format changed?", len(commands), len(shown))
	}
	next := 0
	for _, c := range commands {
		want := "exec sh -c '" + strings.ReplaceAll(c, "'", "''") + "'"
		if strings.HasPrefix(c, "cd ") {
			want = c
		}
		found := false
		for next < len(script) {
			next++
			if script[next-1] == want {
				found = true
				break
			}
		}
		if !found {
			t.Fatalf("tutorial command %q is not in tutorial.txtar (in order) as:\n%s", c, want)
		}
	}
	for name, body := range shown {
		got, ok := files["page/"+name]
		if !ok {
			t.Errorf("tutorial file %s is not in tutorial.txtar as page/%s", name, name)
			continue
		}
		if got != body {
			t.Errorf("tutorial file %s differs from tutorial.txtar's page/%s:\n--- page\n%s--- script\n%s", name, name, body, got)
		}
	}
}

// tutorialBlocks returns the command lines of the page's ```sh blocks, in
// order, and its ```hcl blocks that start with "# PATH", by PATH.
func tutorialBlocks(page string) ([]string, map[string]string) {
	var commands []string
	files := map[string]string{}
	lines := strings.Split(page, "\n")
	for i := 0; i < len(lines); i++ {
		lang, ok := strings.CutPrefix(lines[i], "```")
		if !ok || lang == "" {
			continue
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		switch lang {
		case "sh":
			for _, l := range body {
				if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
					commands = append(commands, l)
				}
			}
		case "hcl":
			if len(body) > 0 && strings.HasPrefix(body[0], "# ") {
				files[strings.TrimPrefix(body[0], "# ")] = strings.Join(body, "\n") + "\n"
			}
		}
	}
	return commands, files
}
