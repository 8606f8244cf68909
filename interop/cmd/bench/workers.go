package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicedata/sluice/internal/lakegen"
	"github.com/sluicedata/sluice/interop/duck"
)

// runWorker runs one worker mode (the first argument) and returns the exit
// code; ok is false when args name no worker.
func runWorker(args []string) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	var err error
	switch args[0] {
	case "duckdb-worker":
		err = duckdbWorker(args[1:])
	case "verify-worker":
		err = verifyWorker(args[1:])
	case "gen-worker":
		err = genWorker(args[1:])
	case "get-worker":
		err = getWorker(args[1:])
	case "floor-worker":
		err = floorWorker(args[1:])
	default:
		return 0, false
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench %s: %v\n", args[0], err)
		return 1, true
	}
	return 0, true
}

// duckdbWorker runs the SQL statements in a file with DuckDB limited to
// -threads threads: the DuckDB side of a scenario, measured as a process.
func duckdbWorker(args []string) error {
	fs := flag.NewFlagSet("duckdb-worker", flag.ContinueOnError)
	threads := fs.Int("threads", 0, "DuckDB threads")
	sqlFile := fs.String("sql", "", "file of SQL to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	q, err := os.ReadFile(*sqlFile)
	if err != nil {
		return err
	}
	db, err := duck.Open(*threads)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Exec(string(q)); err != nil {
		return fmt.Errorf("%w\n%s", err, q)
	}
	return nil
}

// verifySpec is what verify-worker compares: two relations over the same
// columns (see duck.Compare).
type verifySpec struct {
	A, B      string
	Cols      []duck.Column
	Partition string
}

func verifyWorker(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: verify-worker SPEC.json")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var s verifySpec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	db, err := duck.Open(0)
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := duck.Compare(context.Background(), db, s.A, s.B, s.Cols, s.Partition)
	if err != nil {
		return err
	}
	fmt.Printf("%d rows\n", sum.Rows)
	return nil
}

func genWorker(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: gen-worker SPEC.json")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var s genSpec
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	tmp := s.Dir + ".partial"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	var st lakegen.Stats
	switch s.Kind {
	case eventsData:
		st, err = lakegen.Events(tmp, s.Events)
	case manyData:
		st, err = lakegen.Many(tmp, s.Many)
	default:
		st, err = lakegen.Wide(tmp, s.Wide)
	}
	if err != nil {
		return err
	}
	// Rename last, so that a killed generation is never taken for a
	// cached data set.
	if err := os.Rename(tmp, s.Dir); err != nil {
		return err
	}
	out, _ := json.Marshal(st)
	return os.WriteFile(filepath.Join(filepath.Dir(s.Dir), filepath.Base(s.Dir)+".stats.json"), out, 0o644)
}

// getWorker lists bucket/prefix and GETs every object with -concurrency
// requests in flight, discarding the bodies: what the store can deliver,
// the ceiling for sluice reading the same objects.
func getWorker(args []string) error {
	fs := flag.NewFlagSet("get-worker", flag.ContinueOnError)
	bucket := fs.String("bucket", "", "bucket")
	prefix := fs.String("prefix", "", "key prefix")
	conc := fs.Int("concurrency", 64, "GETs in flight")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	keys := make(chan string, 1024)
	var total atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range keys {
				out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String(k)})
				if err == nil {
					var n int64
					n, err = io.Copy(io.Discard, out.Body)
					out.Body.Close()
					total.Add(n)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("get %s: %w", k, err) })
				}
			}
		}()
	}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: bucket, Prefix: prefix})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			close(keys)
			wg.Wait()
			return fmt.Errorf("list s3://%s/%s: %w", *bucket, *prefix, err)
		}
		for _, o := range page.Contents {
			keys <- aws.ToString(o.Key)
			n++
		}
	}
	close(keys)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("%d objects, %d bytes in %v\n", n, total.Load(), time.Since(start))
	return nil
}
