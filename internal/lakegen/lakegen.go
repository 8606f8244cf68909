package lakegen

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// Stats counts what a generator wrote.
type Stats struct {
	Files int
	Bytes int64
	Rows  int64
}

func (s *Stats) add(path string, rows int) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	s.Files++
	s.Bytes += fi.Size()
	s.Rows += int64(rows)
	return nil
}

// textFile creates path (and its directory) and returns a buffered writer,
// gzip-compressed when gz is set, and a function that closes everything.
func textFile(path string, gz bool) (io.Writer, func() error, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, nil, err
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 64<<10)
	if !gz {
		return bw, func() error {
			if err := bw.Flush(); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		}, nil
	}
	zw := gzip.NewWriter(bw)
	return zw, func() error {
		if err := zw.Close(); err != nil {
			f.Close()
			return err
		}
		if err := bw.Flush(); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}, nil
}

var (
	currencies = []string{"EUR", "USD", "GBP", "JPY"}
	statuses   = []string{"placed", "paid", "shipped", "delivered", "returned"}
	countries  = []string{"DE", "FR", "US", "GB", "JP", "BR", "IN", "NL"}
	pages      = []string{"/", "/search", "/cart", "/checkout", "/product/17", "/product/42", "/help"}
)

// OrdersOptions shape the demo's order lake.
type OrdersOptions struct {
	Days         int // days starting 2025-12-30
	Regions      []string
	FilesPerPart int
	RowsPerFile  int
	GzipEvery    int // every n-th file is gzip-compressed (0: none)
	BadLineEvery int // every n-th file carries one malformed line (0: none)
	Seed         uint64
}

// Orders writes raw/orders-style NDJSON: <dir>/dt=YYYY-MM-DD/region=R/part-NNNN.json[.gz].
func Orders(dir string, o OrdersOptions) (Stats, error) {
	var st Stats
	rng := rand.New(rand.NewPCG(o.Seed, 1))
	start := time.Date(2025, 12, 30, 0, 0, 0, 0, time.UTC)
	n := 0
	for d := 0; d < o.Days; d++ {
		day := start.AddDate(0, 0, d)
		for _, region := range o.Regions {
			for f := 0; f < o.FilesPerPart; f++ {
				n++
				gz := o.GzipEvery > 0 && n%o.GzipEvery == 0
				name := fmt.Sprintf("part-%04d.json", f)
				if gz {
					name += ".gz"
				}
				path := filepath.Join(dir, "dt="+day.Format("2006-01-02"), "region="+region, name)
				w, closeFn, err := textFile(path, gz)
				if err != nil {
					return st, err
				}
				rows := 0
				for r := 0; r < o.RowsPerFile; r++ {
					id := n*100000 + r
					amount := float64(rng.IntN(100000)-2000) / 100
					ts := day.Add(time.Duration(rng.IntN(86400)) * time.Second)
					coupon := "null"
					if rng.IntN(5) == 0 {
						coupon = strconv.Quote(fmt.Sprintf("C%03d", rng.IntN(1000)))
					}
					fmt.Fprintf(w, `{"order_id":"o-%d","customer_id":%d,"amount":%.2f,"currency":%q,"status":%q,"items":%d,"created_at":%q,"coupon":%s,"channel":"web"}`+"\n",
						id, rng.IntN(50000), amount, currencies[rng.IntN(len(currencies))],
						statuses[rng.IntN(len(statuses))], 1+rng.IntN(9), ts.Format(time.RFC3339), coupon)
					rows++
				}
				if o.BadLineEvery > 0 && n%o.BadLineEvery == 0 {
					fmt.Fprintf(w, "{\"order_id\":\"o-bad-%d\",\"amount\":\"twelve\"}\n", n)
				}
				if err := closeFn(); err != nil {
					return st, err
				}
				if err := st.add(path, rows); err != nil {
					return st, err
				}
			}
		}
	}
	return st, nil
}

// ClicksOptions shape the demo's click lake.
type ClicksOptions struct {
	Days, HoursPerDay, RowsPerFile int
	Seed                           uint64
}

// Clicks writes gzip CSV: <dir>/dt=YYYY-MM-DD/hour-HH.csv.gz with a header row.
func Clicks(dir string, o ClicksOptions) (Stats, error) {
	var st Stats
	rng := rand.New(rand.NewPCG(o.Seed, 2))
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < o.Days; d++ {
		day := start.AddDate(0, 0, d)
		for h := 0; h < o.HoursPerDay; h++ {
			path := filepath.Join(dir, "dt="+day.Format("2006-01-02"), fmt.Sprintf("hour-%02d.csv.gz", h))
			w, closeFn, err := textFile(path, true)
			if err != nil {
				return st, err
			}
			fmt.Fprintln(w, "ts,session_id,user_id,url,referrer,country,duration_ms,is_bot")
			for r := 0; r < o.RowsPerFile; r++ {
				ts := day.Add(time.Duration(h)*time.Hour + time.Duration(rng.IntN(3600e6))*time.Microsecond)
				ref := "https://example.com/?q=a,b"
				if rng.IntN(3) == 0 {
					ref = "NULL"
				}
				fmt.Fprintf(w, "%s,s-%d,%d,%s,\"%s\",%s,%d,%t\n", ts.Format("2006-01-02 15:04:05"),
					rng.IntN(1_000_000), rng.IntN(100_000), pages[rng.IntN(len(pages))], ref,
					countries[rng.IntN(len(countries))], rng.IntN(60000)-100, rng.IntN(10) == 0)
			}
			if err := closeFn(); err != nil {
				return st, err
			}
			if err := st.add(path, o.RowsPerFile); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

// MetricsOptions shape the demo's metrics lake.
type MetricsOptions struct {
	Days, FilesPerDay, RowsPerFile int
	Seed                           uint64
}

// Metrics writes small snappy Parquet files: <dir>/dt=YYYY-MM-DD/part-NNNN.parquet.
func Metrics(dir string, o MetricsOptions) (Stats, error) {
	var st Stats
	rng := rand.New(rand.NewPCG(o.Seed, 3))
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "device_id", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "temperature", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "humidity", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "battery", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "firmware", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	mem := memory.NewGoAllocator()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := 0; d < o.Days; d++ {
		day := start.AddDate(0, 0, d)
		for f := 0; f < o.FilesPerDay; f++ {
			b := array.NewRecordBuilder(mem, schema)
			for r := 0; r < o.RowsPerFile; r++ {
				b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("dev-%04d", rng.IntN(5000)))
				b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(day.UnixMilli() + int64(rng.IntN(86400000))))
				b.Field(2).(*array.Float64Builder).Append(15 + rng.Float64()*20)
				if rng.IntN(20) == 0 {
					b.Field(3).AppendNull()
				} else {
					b.Field(3).(*array.Float64Builder).Append(rng.Float64() * 100)
				}
				b.Field(4).(*array.Int32Builder).Append(int32(rng.IntN(101)))
				b.Field(5).(*array.StringBuilder).Append(fmt.Sprintf("v1.%d", rng.IntN(4)))
			}
			rec := b.NewRecordBatch()
			b.Release()
			path := filepath.Join(dir, "dt="+day.Format("2006-01-02"), fmt.Sprintf("part-%04d.parquet", f))
			err := writeParquet(path, rec)
			rec.Release()
			if err != nil {
				return st, err
			}
			if err := st.add(path, o.RowsPerFile); err != nil {
				return st, err
			}
		}
	}
	return st, nil
}

func writeParquet(path string, rec arrow.RecordBatch) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		f.Close()
		return err
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		f.Close()
		return err
	}
	return w.Close() // closes f
}

// DemoSet is one data set of the demo lake.
type DemoSet struct {
	Name  string // its directory under dir, and what it holds
	Stats Stats
}

// Demo writes the lake that make demo and the example pipelines
// (pipelines/) read: raw/orders, raw/clicks and raw/metrics under dir.
func Demo(dir string) ([]DemoSet, error) {
	orders, err := Orders(filepath.Join(dir, "raw", "orders"), OrdersOptions{
		Days: 12, Regions: []string{"apac", "eu", "us"}, FilesPerPart: 100, RowsPerFile: 40,
		GzipEvery: 4, BadLineEvery: 450, Seed: 1,
	})
	if err != nil {
		return nil, err
	}
	clicks, err := Clicks(filepath.Join(dir, "raw", "clicks"), ClicksOptions{
		Days: 7, HoursPerDay: 24, RowsPerFile: 500, Seed: 2,
	})
	if err != nil {
		return nil, err
	}
	metrics, err := Metrics(filepath.Join(dir, "raw", "metrics"), MetricsOptions{
		Days: 5, FilesPerDay: 200, RowsPerFile: 300, Seed: 3,
	})
	if err != nil {
		return nil, err
	}
	return []DemoSet{
		{"raw/orders  (NDJSON, 1 in 4 gzip, a few bad lines)", orders},
		{"raw/clicks  (gzip CSV)", clicks},
		{"raw/metrics (small Parquet)", metrics},
	}, nil
}
