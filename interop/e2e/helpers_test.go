package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/sluicecfg"
)

// sluiceBin is the binary under test. A missing binary fails the test: an
// interop suite that skips itself silently proves nothing.
func sluiceBin(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("SLUICE_BIN")
	if bin == "" {
		t.Fatal("SLUICE_BIN is not set: run make test (or make test-interop), which builds bin/sluice and sets it")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("SLUICE_BIN=%s: %v (run make build)", bin, err)
	}
	return abs
}

// pipelineConfig is one configuration directory with a single pipeline.
type pipelineConfig = sluicecfg.Pipeline

// writeConfig renders c into dir/main.hcl.
func writeConfig(t *testing.T, c pipelineConfig, dir string) {
	t.Helper()
	if err := c.Write(dir); err != nil {
		t.Fatal(err)
	}
}

// runSluice runs the binary with args and env added to this process's
// environment, and returns its combined output and exit code.
func runSluice(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sluiceBin(t), args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			t.Fatalf("sluice %s: %v", strings.Join(args, " "), err)
		}
	}
	return string(out), cmd.ProcessState.ExitCode()
}

// apply runs `sluice apply -auto-approve DIR` and fails the test unless it
// exits 0. It returns the output.
func apply(t *testing.T, env []string, dir string) string {
	t.Helper()
	out, code := runSluice(t, env, "apply", "-auto-approve", dir)
	if code != 0 {
		t.Fatalf("sluice apply -auto-approve %s: exit %d\n%s\nconfig:\n%s", dir, code, out, readConfig(dir))
	}
	return out
}

func readConfig(dir string) string {
	b, _ := os.ReadFile(filepath.Join(dir, "main.hcl"))
	return string(b)
}

func saidNothingToDo(out string) bool {
	return strings.Contains(strings.ToLower(out), "nothing to do")
}

// snapshot lists every file under dir with its size and modification time,
// to show that a second run changed nothing.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		lines = append(lines, fmt.Sprintf("%s %d %d", rel, fi.Size(), fi.ModTime().UnixNano()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// checkOutputFiles fails on anything a reader would trip over: outside
// sluice's own _sluice/ prefix, every file is a visible .parquet file (no
// temporary or half-written file is left behind). It returns their count.
func checkOutputFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "_sluice" {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if !strings.HasSuffix(d.Name(), ".parquet") || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
			t.Errorf("unexpected file in the output: %s", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("output %s: %v", dir, err)
	}
	if n == 0 {
		t.Fatalf("output %s holds no Parquet file", dir)
	}
	return n
}

func openDuck(t *testing.T) *sql.DB {
	t.Helper()
	db, err := duck.Open(2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// columnNames is the set of columns a relation has, sorted.
func columnNames(t *testing.T, db *sql.DB, rel string) []string {
	t.Helper()
	rows, err := db.Query("SELECT * FROM " + rel + " LIMIT 0")
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(cols)
	return cols
}

// compareOutput checks sluice's output directory against the expected
// relation: the column set (projection), then duck.Compare. It returns the
// expected row count.
func compareOutput(t *testing.T, db *sql.DB, expected, outDir string, cols []duck.Column, partition string) int64 {
	t.Helper()
	checkOutputFiles(t, outDir)
	raw := duck.ReadParquet(filepath.Join(outDir, "**", "*.parquet"))
	var want []string
	for _, c := range cols {
		want = append(want, c.Name)
	}
	sort.Strings(want)
	if got := columnNames(t, db, raw); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("output columns = %v, want %v (select plus partition columns)", got, want)
	}
	sum, err := duck.Compare(context.Background(), db, expected, duck.Select(raw, cols, ""), cols, partition)
	if err != nil {
		t.Fatalf("sluice output %s differs from DuckDB's answer: %v", outDir, err)
	}
	if sum.Rows == 0 {
		t.Fatal("the filter kept no rows: the test data or filter is wrong")
	}
	return sum.Rows
}

// repoRoot is the sluice module root (interop/e2e is two levels below).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !strings.Contains(string(b), "module github.com/sluicedata/sluice\n") {
		t.Fatalf("%s is not the sluice module root", root)
	}
	return root
}
