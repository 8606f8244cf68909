package lakegen

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluicedata/sluice/spec/schema"
)

func TestEvents(t *testing.T) {
	dir := t.TempDir()
	st, err := Events(dir, EventsOptions{Files: 6, Days: 3, RowsPerFile: 200, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 6 || st.Rows != 1200 {
		t.Fatalf("stats = %+v, want 6 files, 1200 rows", st)
	}
	// About 1 KB per line, as the benchmark promises.
	if avg := st.Bytes / st.Rows; avg < 600 || avg > 1400 {
		t.Fatalf("average event is %d bytes, want ~1 KB", avg)
	}
	types := map[string]int{}
	ids := map[string]bool{}
	commits := 0
	for _, p := range wideFiles(t, dir) {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct {
				ID      string         `json:"id"`
				Type    string         `json:"type"`
				Actor   map[string]any `json:"actor"`
				Payload struct {
					Commits []struct {
						Author struct{ Name string } `json:"author"`
					} `json:"commits"`
				} `json:"payload"`
			}
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			if ids[ev.ID] {
				t.Fatalf("duplicate id %s", ev.ID)
			}
			ids[ev.ID] = true
			types[ev.Type]++
			if len(ev.Actor) != 6 {
				t.Fatalf("actor has %d fields: %v", len(ev.Actor), ev.Actor)
			}
			for _, c := range ev.Payload.Commits {
				if c.Author.Name == "" {
					t.Fatalf("commit without an author name: %s", sc.Text())
				}
				commits++
			}
		}
		f.Close()
	}
	if types["PushEvent"] < 400 || types["PushEvent"] > 680 || len(types) != len(eventTypes) || commits < types["PushEvent"] {
		t.Fatalf("event types %v, %d commits: want ~45%% pushes with commits and every type", types, commits)
	}
}

func TestEventsDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	o := EventsOptions{Files: 2, Days: 1, RowsPerFile: 30, Seed: 5}
	if _, err := Events(a, o); err != nil {
		t.Fatal(err)
	}
	if _, err := Events(b, o); err != nil {
		t.Fatal(err)
	}
	fa, fb := wideFiles(t, a), wideFiles(t, b)
	for i := range fa {
		if !bytes.Equal(mustRead(t, fa[i]), mustRead(t, fb[i])) {
			t.Fatalf("%s differs between two runs with the same seed", strings.TrimPrefix(fa[i], a))
		}
	}
}

// The column types are the pipeline language's (the benchmark writes them
// into a schema file).
func TestGeneratedSchemasParse(t *testing.T) {
	for _, cols := range [][]WideColumn{EventColumns, WideColumns, ManyColumns(12)} {
		for _, c := range cols {
			if _, err := schema.ParseType(c.Type); err != nil {
				t.Errorf("column %s: %v", c.Name, err)
			}
		}
	}
	s := SchemaHCL("events", EventColumns)
	if strings.Count(s, "column ") != len(EventColumns) || !strings.Contains(s, `commits list(struct(sha string`) {
		t.Fatalf("unexpected schema:\n%s", s)
	}
}

func TestManyJSON(t *testing.T) {
	dir := t.TempDir()
	st, err := Many(dir, ManyOptions{Format: WideJSON, Columns: 200, Files: 4, Days: 2, RowsPerFile: 10, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Rows != 40 {
		t.Fatalf("stats = %+v", st)
	}
	cols := ManyColumns(200)
	nulls := 0
	for _, p := range wideFiles(t, dir) {
		for _, line := range strings.Split(strings.TrimSpace(string(mustRead(t, p))), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatal(err)
			}
			if len(m) != 200 {
				t.Fatalf("%d keys, want 200", len(m))
			}
			for _, c := range cols {
				v := m[c.Name]
				if v == nil {
					nulls++
					continue
				}
				ok := false
				switch c.Type {
				case "int64", "float64":
					_, ok = v.(float64)
				case "string":
					_, ok = v.(string)
				case "bool":
					_, ok = v.(bool)
				}
				if !ok {
					t.Fatalf("column %s (%s) holds %T", c.Name, c.Type, v)
				}
			}
		}
	}
	if nulls == 0 {
		t.Fatal("no nulls generated")
	}
}

func TestManyParquet(t *testing.T) {
	dir := t.TempDir()
	if _, err := Many(dir, ManyOptions{Format: WideParquet, Columns: 200, Files: 2, Days: 1, RowsPerFile: 50, Seed: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := Many(dir, ManyOptions{Format: WideCSVGzip, Columns: 2, Files: 1, Days: 1, RowsPerFile: 1}); err == nil {
		t.Fatal("want an error for CSV")
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, p := range wideFiles(t, dir) {
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if tbl.NumRows() != 50 || tbl.NumCols() != 200 || tbl.Schema().Field(199).Name != "c199" {
			t.Fatalf("%s: %d rows, %d cols", p, tbl.NumRows(), tbl.NumCols())
		}
		tbl.Release()
		rdr.Close()
	}
}
