package planner

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// One corrupt Parquet object that sorts first no longer wedges a
// schemaless source: under skip and quarantine inference passes over it
// (and warns), under fail the plan stops naming it; a store error stops
// the plan under every policy (it says nothing about the file).
func TestInferSchemaPassesOverUnreadableFiles(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct {
		policy   spec.BadRecordPolicy
		corrupt  int // corrupt files sorting first
		storeErr bool
		wantErr  string
		wantWarn string
	}{
		{policy: spec.BadRecordQuarantine, corrupt: 1, wantWarn: "schema inferred from the footer of dt=2026-01-01/region=eu/b.parquet: dt=2026-01-01/region=eu/a0.parquet, before it in key order, has an unreadable footer and was passed over"},
		{policy: spec.BadRecordSkip, corrupt: 2, wantWarn: "2 files before it in key order have unreadable footers"},
		{policy: spec.BadRecordFail, corrupt: 1, wantErr: "schema from the footer of dt=2026-01-01/region=eu/a0.parquet: the file is unreadable (on_bad_record = \"fail\""},
		{policy: spec.BadRecordQuarantine, corrupt: 1, storeErr: true, wantErr: "injected store failure"},
	} {
		t.Run(tc.policy.String(), func(t *testing.T) {
			f := newFixture(t, nil, func(p *spec.Pipeline) {
				p.Source.Format = spec.FormatParquet
				p.Source.Schema = nil
				p.Source.Where, p.Source.WhereText = nil, ""
				p.Source.OnBadRecord = tc.policy
			})
			dir := filepath.Join(f.srcDir, "dt=2026-01-01/region=eu")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for i := range tc.corrupt {
				if err := os.WriteFile(filepath.Join(dir, "a"+string(rune('0'+i))+".parquet"), []byte("PAR1 not really PAR1"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			writeParquet(t, mem, filepath.Join(dir, "b.parquet"), seq(0, 10), 10)
			opts := Options{Footers: &parquetFooters{}, RunID: "r"}
			if tc.storeErr {
				opts.OpenLocation = func(ctx context.Context, url string) (objstore.Location, error) {
					loc, err := objstore.Open(ctx, url)
					if url == f.srcDir {
						loc.Store = failingGet{loc.Store}
					}
					return loc, err
				}
			}
			p, err := Build(context.Background(), f.cfg, opts)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			pp := p.Pipelines[0]
			if len(pp.FileSchema) != 1 || pp.FileSchema[0].Name != "amount" {
				t.Fatalf("file schema %+v", pp.FileSchema)
			}
			if pp.NumInputs() != tc.corrupt+1 {
				t.Fatalf("%d inputs: the unreadable files are inputs too (the run applies the policy)", pp.NumInputs())
			}
			if !strings.Contains(strings.Join(pp.Summary.Warnings, "\n"), tc.wantWarn) {
				t.Fatalf("warnings %q, want one containing %q", pp.Summary.Warnings, tc.wantWarn)
			}
		})
	}
}

// failingGet fails every read of a0.parquet, as an unreachable store would.
type failingGet struct{ objstore.Store }

func (s failingGet) Get(ctx context.Context, key string) (io.ReadCloser, objstore.ObjectInfo, error) {
	if strings.HasSuffix(key, "a0.parquet") {
		return nil, objstore.ObjectInfo{}, errors.New("injected store failure")
	}
	return s.Store.Get(ctx, key)
}
