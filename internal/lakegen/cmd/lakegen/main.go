package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sluicedata/sluice/internal/lakegen"
)

func main() {
	if len(os.Args) != 3 || os.Args[1] != "demo" {
		fmt.Fprintln(os.Stderr, "usage: lakegen demo DIR")
		os.Exit(1)
	}
	if err := demo(os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "lakegen:", err)
		os.Exit(1)
	}
}

func demo(dir string) error {
	orders, err := lakegen.Orders(filepath.Join(dir, "raw", "orders"), lakegen.OrdersOptions{
		Days: 12, Regions: []string{"apac", "eu", "us"}, FilesPerPart: 100, RowsPerFile: 40,
		GzipEvery: 4, BadLineEvery: 450, Seed: 1,
	})
	if err != nil {
		return err
	}
	clicks, err := lakegen.Clicks(filepath.Join(dir, "raw", "clicks"), lakegen.ClicksOptions{
		Days: 7, HoursPerDay: 24, RowsPerFile: 500, Seed: 2,
	})
	if err != nil {
		return err
	}
	metrics, err := lakegen.Metrics(filepath.Join(dir, "raw", "metrics"), lakegen.MetricsOptions{
		Days: 5, FilesPerDay: 200, RowsPerFile: 300, Seed: 3,
	})
	if err != nil {
		return err
	}
	for _, s := range []struct {
		name string
		st   lakegen.Stats
	}{{"raw/orders  (NDJSON, 1 in 4 gzip, a few bad lines)", orders}, {"raw/clicks  (gzip CSV)", clicks}, {"raw/metrics (small Parquet)", metrics}} {
		fmt.Printf("  %-46s %6d files %8.1f MiB %9d rows\n", s.name, s.st.Files, float64(s.st.Bytes)/(1<<20), s.st.Rows)
	}
	return nil
}
