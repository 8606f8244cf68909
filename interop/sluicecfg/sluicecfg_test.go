package sluicecfg

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestRenderGolden(t *testing.T) {
	cases := map[string]Pipeline{
		"full": {
			StateURL: "/lake/state", SourceURL: "s3://raw/events/", Format: "csv", Compression: "gzip",
			SchemaFile: "/lake/schemas/events.hcl", Partitions: []string{"dt"},
			Where: `dt >= '2026-01-02' && country in ['DE', "FR"]`, Select: []string{"id", "dt"},
			BoundedFiles: 4, SinkURL: "/lake/out/", PartitionBy: []string{"dt", "event"},
		},
		"minimal": {StateURL: "/s", SourceURL: "/in/", Format: "parquet", SinkURL: "/out/"},
	}
	for name, p := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := p.Render()
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", name+".hcl")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Fatalf("rendered config differs from %s:\n%s", golden, got)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	if err := (Pipeline{StateURL: "/s", SourceURL: "/in/", Format: "json", SinkURL: "/o/"}).Write(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "main.hcl")); err != nil {
		t.Fatal(err)
	}
}
