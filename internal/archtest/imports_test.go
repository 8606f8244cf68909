package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/sluicedata/sluice/"

// layers lists sluice's packages from the top down (docs/architecture.md).
// A package may import one of a lower layer, never one of its own layer or
// above: cmd → apply → dist/temporal → dist → {txn, exec} → planner →
// {state, tables} → spec → leaves. A package is placed by its longest
// listed prefix. txn and exec share a layer on purpose: the protocol must
// not know the data plane, nor the data plane the protocol; apply joins
// them. state and tables share one too: bookmarks know nothing of tables,
// nor tables of bookmarks; txn joins them in the commit.
var layers = [][]string{
	{"cmd/sluice"},
	{"apply/fixture"},
	{"apply"},
	{"dist/temporal"},
	{"dist"},
	{"txn", "exec"},
	{"exec/decode", "exec/write", "exec/eval"},
	{"planner"},
	{"state", "tables"},
	{"spec/fixture"},
	{"spec"},
	{"spec/predicate", "exec/arrowtype", "objstore/objstoretest"},
	{"spec/schema", "objstore", "hive", "internal/bufpool"},
}

// forbidden are imports the layers allow but a package's job excludes:
// the distributed executors produce pending uploads and records, and must
// not reach the commit protocol (apply's coordinator journals and commits).
var forbidden = map[string][]string{
	"dist": {"txn"},
}

// forbids reports whether pkg (by its longest listed prefix) may not import dep.
func forbids(pkg, dep string) bool {
	for p, deps := range forbidden {
		if pkg != p && !strings.HasPrefix(pkg, p+"/") {
			continue
		}
		for _, d := range deps {
			if dep == d || strings.HasPrefix(dep, d+"/") {
				return true
			}
		}
	}
	return false
}

// layerOf returns the layer of a package path relative to the module, or
// -1 for one outside the list (test support, tools, interop).
func layerOf(pkg string) int {
	best, bestLen := -1, -1
	for i, l := range layers {
		for _, p := range l {
			if (pkg == p || strings.HasPrefix(pkg, p+"/")) && len(p) > bestLen {
				best, bestLen = i, len(p)
			}
		}
	}
	return best
}

// TestImportsPointDown reads the imports of every non-test Go file in the
// module and fails on any that reaches up or sideways.
func TestImportsPointDown(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "interop") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		pkg := filepath.ToSlash(rel)
		from := layerOf(pkg)
		if from < 0 {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		seen++
		for _, imp := range f.Imports {
			dep, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), module)
			if !ok || strings.HasPrefix(dep, pkg+"/") {
				continue // outside the module, or the package's own sub-package
			}
			if to := layerOf(dep); to >= 0 && to <= from {
				t.Errorf("%s imports %s: a package may import only from a layer below its own (internal/archtest)", filepath.Join(pkg, filepath.Base(path)), dep)
			}
			if forbids(pkg, dep) {
				t.Errorf("%s imports %s: forbidden for its package's job (internal/archtest)", filepath.Join(pkg, filepath.Base(path)), dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Fatalf("read only %d files: is the walk rooted at the module?", seen)
	}
}

// dist and its sub-packages may not import txn; others may.
func TestForbids(t *testing.T) {
	if !forbids("dist", "txn") || !forbids("dist/temporal", "txn") || forbids("apply", "txn") || forbids("dist", "exec") {
		t.Fatal("forbids")
	}
}

// The rule is only as good as the placement: sub-packages take their own
// layer, siblings share one, and unlisted packages are not checked.
func TestLayerOf(t *testing.T) {
	for pkg, want := range map[string]int{
		"cmd/sluice/internal/cli": 0, "apply/fixture": 1, "apply": 2, "dist/temporal": 3, "dist": 4,
		"txn": 5, "exec": 5, "exec/decode": 6, "planner": 7, "state": 8, "tables": 8, "spec/fixture": 9, "spec": 10,
		"hive": 12, "objstore": 12, "interop/duck": -1, "internal/s3test": -1,
	} {
		if got := layerOf(pkg); got != want {
			t.Errorf("layerOf(%q) = %d, want %d", pkg, got, want)
		}
	}
}
