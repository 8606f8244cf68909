package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluicedata/sluice/internal/lakegen"
	"github.com/sluicedata/sluice/internal/temporaltest"
	"github.com/sluicedata/sluice/interop/duck"
	"github.com/sluicedata/sluice/interop/runner"
	"github.com/sluicedata/sluice/interop/sluicecfg"
)

// temporalTasks is how many tasks the Temporal scenario's plan has: enough
// for the per-task overhead to show, few enough that each task is real work.
const temporalTasks = 16

// runTemporal is the NDJSON scenario through the Temporal executor, on
// sc.temporal `sluice worker` processes sharing the threads, next to the
// same plan run with -executor local. The difference of the medians is
// Temporal's overhead: per run, and divided by the tasks, per task.
func (sc scenario) runTemporal(o options) ([]Row, error) {
	files, bytes, err := sc.data.ensure(o)
	if err != nil {
		return nil, err
	}
	bin := os.Getenv("SLUICE_TEMPORAL")
	if bin == "" {
		bin = filepath.Join(o.repo, ".tools", "temporal")
	}
	tdir, err := o.work("temporal")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tdir)
	srv, err := temporaltest.New(bin, tdir)
	if err != nil {
		return nil, err
	}
	defer srv.Kill()
	queue := fmt.Sprintf("bench-%d", time.Now().UnixNano())
	env := append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(o.threads), "TEMPORAL_ADDRESS="+srv.Address(), "TEMPORAL_NAMESPACE="+temporaltest.Namespace, "SLUICE_TASK_QUEUE="+queue)
	per := max(1, o.threads/sc.temporal)
	for i := 0; i < sc.temporal; i++ {
		w := exec.Command(o.sluice, "worker", "-parallelism", strconv.Itoa(per))
		w.Env = env
		if err := w.Start(); err != nil {
			return nil, err
		}
		defer func() { w.Process.Kill(); w.Wait() }()
	}
	row := Row{Scenario: sc.name, InputFiles: files, InputBytes: bytes, SameRows: "-", RefName: "local"}
	var outs [2]string
	for i := 0; i < o.runs; i++ {
		for k, executor := range []string{"temporal", "local"} {
			dir, err := o.work("sluice-" + executor)
			if err != nil {
				return nil, err
			}
			cfg := sluicecfg.Pipeline{
				StateURL: filepath.Join(dir, "state"), SourceURL: sc.data.dir(o) + "/", Format: sc.data.format().String(),
				Where: sc.where, Select: sc.selectCols, SinkURL: filepath.Join(dir, "out") + "/", PartitionBy: sc.partitionBy,
				Partitions: []string{"dt"}, SchemaFile: filepath.Join(dir, "events.schema.hcl"),
				TaskBytes: strconv.FormatInt(bytes/temporalTasks+1, 10),
			}
			if err := os.WriteFile(cfg.SchemaFile, []byte(lakegen.WideSchemaHCL("events")), 0o644); err != nil {
				return nil, err
			}
			if err := cfg.Write(filepath.Join(dir, "conf")); err != nil {
				return nil, err
			}
			args := []string{"apply", "-auto-approve", "-executor", executor, "-parallelism", strconv.Itoa(o.threads), filepath.Join(dir, "conf")}
			r, err := runner.Run(context.Background(), o.sluice, args, env, dir)
			s := &row.Sluice
			if executor == "local" {
				s = &row.Ref
			}
			if err != nil || r.ExitCode != 0 {
				s.Failed = fmt.Sprintf("exit %d %v: %s", r.ExitCode, err, lastLines(r.Stdout, r.Stderr))
				os.RemoveAll(dir)
				continue
			}
			s.Walls = append(s.Walls, r.Wall)
			s.RSS = append(s.RSS, r.MaxRSS)
			s.Polled = s.Polled || r.Polled
			s.CPU = append(s.CPU, r.CPU())
			if outs[k] != "" {
				os.RemoveAll(filepath.Dir(outs[k]))
			}
			outs[k] = filepath.Join(dir, "out")
		}
	}
	for _, out := range outs {
		if out != "" {
			defer os.RemoveAll(filepath.Dir(out))
		}
	}
	if row.Sluice.ok() && row.Ref.ok() {
		d := row.Sluice.Wall() - row.Ref.Wall()
		row.Note = fmt.Sprintf("%d tasks on %d worker(s) × %d; Temporal's overhead: %+.2fs per run, %+.0fms per task (wall, temporal − local; CPU is the coordinator's only)",
			temporalTasks, sc.temporal, per, d.Seconds(), float64(d.Milliseconds())/temporalTasks)
		row.SameRows = verify(o, verifySpec{
			A:    duck.Select(duck.ReadParquet(filepath.Join(outs[1], "**", "*.parquet")), sc.cols, ""),
			B:    duck.Select(duck.ReadParquet(filepath.Join(outs[0], "**", "*.parquet")), sc.cols, ""),
			Cols: sc.cols, Partition: partitionOf(sc),
		})
	}
	return []Row{row}, nil
}
