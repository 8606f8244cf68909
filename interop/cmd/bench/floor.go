package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/gzip"
)

// floorWorker does the unavoidable work of a scenario and nothing else: it
// reads every input file the job must read (the same partition pruning),
// decompresses it and, for JSON and CSV, parses it without building
// anything — skipJSON over each JSON line, a quote-aware scan for CSV
// fields. For Parquet it reads the footer and the needed columns'
// chunks, parses every page header and decompresses every page (no value
// decoding: that is already work a reader chooses how to do; see
// floorParquet). -threads goroutines share the files, as
// the engines' threads do. The time of this process is the scenario's floor.
func floorWorker(args []string) error {
	fset := flag.NewFlagSet("floor-worker", flag.ContinueOnError)
	format := fset.String("format", "", "json | csv | parquet")
	dir := fset.String("dir", "", "the input directory, walked")
	minDT := fset.String("min-dt", "", "skip dt=V directories with V before this (the job's partition pruning)")
	cols := fset.String("cols", "", "parquet: comma-separated columns to read (default: all)")
	gz := fset.Bool("gzip", false, "the files are gzip-compressed")
	threads := fset.Int("threads", runtime.GOMAXPROCS(0), "goroutines reading files")
	if err := fset.Parse(args); err != nil {
		return err
	}
	start, cpu0 := time.Now(), processCPU()
	files, err := floorFiles(*dir, *minDT)
	if err != nil {
		return err
	}
	var want map[string]bool
	if *cols != "" {
		want = map[string]bool{}
		for _, c := range strings.Split(*cols, ",") {
			want[c] = true
		}
	}
	var q unitQueue // row groups of large Parquet files, shared out
	var work func(path string, s *scratch) (int64, error)
	switch *format {
	case "json":
		work = floorJSON
	case "csv":
		work = func(p string, s *scratch) (int64, error) { return floorCSV(p, *gz, s) }
	case "parquet":
		work = func(p string, s *scratch) (int64, error) { return floorParquet(p, want, &s.parquetScratch, &q) }
	default:
		return fmt.Errorf("floor-worker: unknown format %q", *format)
	}
	next := make(chan string)
	var units, bytesRead atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range max(*threads, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var s scratch
			for {
				if u, ok := q.pop(); ok {
					n, err := floorRowGroup(u, &s.parquetScratch)
					if err != nil {
						once.Do(func() { firstErr = fmt.Errorf("%s: %w", u.path, err) })
					}
					units.Add(n)
					continue
				}
				p, ok := <-next
				if !ok {
					if q.empty() {
						return
					}
					continue
				}
				n, err := work(p, &s)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("%s: %w", p, err) })
					continue
				}
				units.Add(n)
				if fi, err := os.Stat(p); err == nil {
					bytesRead.Add(fi.Size())
				}
			}
		}()
	}
	for _, p := range files {
		next <- p
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	out, _ := json.Marshal(floorResult{Files: len(files), Bytes: bytesRead.Load(), Units: units.Load(),
		Wall: time.Since(start), CPU: processCPU() - cpu0})
	fmt.Println(string(out))
	return nil
}

// floorResult is what floor-worker prints: its work's own wall and CPU
// time (process start-up excluded: the bench binary links DuckDB, whose
// loading is nobody's floor).
type floorResult struct {
	Files     int
	Bytes     int64
	Units     int64 // lines, fields or pages
	Wall, CPU time.Duration
}

// processCPU is this process's user plus system time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// floorFiles lists the files under dir in key order, leaving out dt=V
// directories with V < minDT.
func floorFiles(dir, minDT string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if v, ok := strings.CutPrefix(d.Name(), "dt="); ok && minDT != "" && v < minDT {
				return filepath.SkipDir
			}
			return nil
		}
		files = append(files, p)
		return nil
	})
	sort.Strings(files)
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no files under %s", dir)
	}
	return files, err
}

// scratch is one floor goroutine's reusable buffers and decoders: the
// floor leaves out the allocations a careful reader avoids.
type scratch struct {
	parquetScratch
	buf []byte
	zr  *gzip.Reader
	br  *bufio.Reader
}

// readFile reads path into the scratch buffer.
func (s *scratch) readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if cap(s.buf) < int(fi.Size()) {
		s.buf = make([]byte, fi.Size())
	}
	b := s.buf[:fi.Size()]
	_, err = io.ReadFull(f, b)
	return b, err
}

// floorJSON parses every line of an NDJSON file and returns the lines.
func floorJSON(path string, s *scratch) (int64, error) {
	b, err := s.readFile(path)
	if err != nil {
		return 0, err
	}
	var lines int64
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(line) == 0 {
			continue
		}
		end, err := skipJSON(line, 0)
		if err == nil && skipSpace(line, end) != len(line) {
			err = fmt.Errorf("offset %d: text after the value", end)
		}
		if err != nil {
			return lines, fmt.Errorf("line %d: %w", lines+1, err)
		}
		lines++
	}
	return lines, nil
}

// floorCSV decompresses a CSV file and counts its fields (commas and
// newlines outside quotes).
func floorCSV(path string, gz bool, s *scratch) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if s.br == nil {
		s.br = bufio.NewReaderSize(f, 64<<10)
	} else {
		s.br.Reset(f)
	}
	var r io.Reader = s.br
	if gz {
		if s.zr == nil {
			if s.zr, err = gzip.NewReader(r); err != nil {
				return 0, err
			}
		} else if err := s.zr.Reset(r); err != nil {
			return 0, err
		}
		r = s.zr
	}
	if len(s.buf) < 256<<10 {
		s.buf = make([]byte, 256<<10)
	}
	buf := s.buf[:256<<10]
	var fields int64
	quoted := false
	for {
		n, err := r.Read(buf)
		for _, c := range buf[:n] {
			switch {
			case c == '"':
				quoted = !quoted
			case quoted:
			case c == ',' || c == '\n':
				fields++
			}
		}
		if err == io.EOF {
			return fields, nil
		}
		if err != nil {
			return fields, err
		}
	}
}
