package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/sluicedata/sluice/cmd/sluice/internal/cli"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/state"
	"github.com/sluicedata/sluice/tables"
	"github.com/sluicedata/sluice/txn"
)

func tableCommand() *cli.Command {
	return &cli.Command{
		Name:     "table",
		Synopsis: "Maintain the Iceberg tables of iceberg sinks",
		Help: `Maintains the tables that pipelines with format = "iceberg" sinks commit
to (the configuration in the current directory, or -chdir DIR). Each
command works on one pipeline's table, or on every iceberg pipeline's
without PIPELINE, under the pipeline's lock (exit 6 when a run holds it),
after finishing or undoing any interrupted run, so that it never races a
run of its own pipeline. -dry-run reports without changing anything.`,
		Subcommands: []*cli.Command{
			tableSub("show", "Show a table's snapshots", `Prints the table's location, its current snapshot and every snapshot with
the sluice run that committed it.`, nil, runTableShow),
			tableSub("expire-snapshots", "Remove old snapshots and the files only they reference", `Removes snapshots committed longer ago than -older-than (default 120h),
keeping at least the last -retain-last (default 1) whatever their age, then
deletes the files that only the removed snapshots referenced (manifest
lists, manifests, data files that overwrites replaced). Readers can no
longer travel back to a removed snapshot.`, func(fs *flag.FlagSet, a *tableArgs) {
				fs.DurationVar(&a.olderThan, "older-than", 120*time.Hour, "Expire snapshots older than `DURATION`.")
				fs.IntVar(&a.retainLast, "retain-last", 1, "Keep at least the last `N` snapshots.")
			}, runTableExpire),
			tableSub("remove-orphans", "Delete files under the table that no snapshot references", `Deletes the files under the table's location that no snapshot or metadata
file references and that are older than -older-than (default 72h): data
files of runs rolled back without cleaning up, debris of failed commits,
files of expired snapshots that were not deleted. The margin protects files
being written by a run in progress elsewhere (a run of this pipeline cannot
be: the command holds its lock); keep it longer than your longest run.
Hidden paths (a segment starting with "." or "_") are never touched.`, func(fs *flag.FlagSet, a *tableArgs) {
				fs.DurationVar(&a.olderThan, "older-than", 72*time.Hour, "Remove orphans older than `DURATION`.")
			}, runTableOrphans),
		},
	}
}

type tableArgs struct {
	stateArgs
	olderThan  time.Duration
	retainLast int
	dryRun     bool
}

func tableSub(name, synopsis, help string, flags func(*flag.FlagSet, *tableArgs), fn func(*cli.Invocation, *tableArgs) cli.ExitCode) *cli.Command {
	return &cli.Command{
		Name: name, Synopsis: synopsis, Args: "[PIPELINE]", MaxArgs: 1, Common: cli.CommonVars | cli.CommonJSON, Help: help,
		Setup: func(fs *flag.FlagSet) cli.Runner {
			a := &tableArgs{}
			fs.StringVar(&a.chdir, "chdir", ".", "Use the configuration in `DIR`.")
			if name != "show" {
				fs.BoolVar(&a.dryRun, "dry-run", false, "Report what would be removed; change nothing.")
			}
			if flags != nil {
				flags(fs, a)
			}
			return func(inv *cli.Invocation) cli.ExitCode { return fn(inv, a) }
		},
	}
}

// eachTable runs fn on the table of the named iceberg pipeline, or of every
// iceberg pipeline, under the pipeline's lock, after recovery.
func eachTable(inv *cli.Invocation, a *tableArgs, command string, fn func(p *spec.Pipeline, t *tables.Table) (any, error)) cli.ExitCode {
	env, code := loadStateEnv(inv, &a.stateArgs)
	if env == nil {
		return code
	}
	var ps []*spec.Pipeline
	if len(inv.Args) == 1 {
		p, _, code := env.pipeline(inv, inv.Args[0])
		if p == nil {
			return code
		}
		if p.Sink.Format != spec.FormatIceberg {
			return inv.Errorf("pipeline %s writes %s files, not an Iceberg table", p.Name, p.Sink.Format)
		}
		ps = []*spec.Pipeline{p}
	} else {
		for _, p := range env.cfg.Pipelines {
			if p.Sink.Format == spec.FormatIceberg {
				ps = append(ps, p)
			}
		}
		if len(ps) == 0 {
			return inv.Errorf("no pipeline of this configuration writes an Iceberg table")
		}
	}
	opener := tables.NewOpener(env.cfg)
	out := map[string]any{}
	for _, p := range ps {
		st := state.Open(env.stateLoc, p.Name, p.Source.Name)
		code := locked(inv, &a.stateArgs, env.cfg, p, st, command, func(s *txn.Session, _ string) cli.ExitCode {
			ctx, cancel := txn.Detached(inv.Ctx)
			defer cancel()
			cfg, _ := tables.ConfigOf(env.cfg.Catalog(p.Sink.Catalog))
			c, err := opener.Open(ctx, cfg)
			if err != nil {
				return inv.Errorf("pipeline %s: %v", p.Name, err)
			}
			defer c.Close()
			t, err := c.Load(ctx, p.Sink.Table)
			if err != nil {
				return inv.Errorf("pipeline %s: %v", p.Name, err)
			}
			r, err := fn(p, t)
			if err != nil {
				return inv.Errorf("pipeline %s: table %s: %v", p.Name, p.Sink.Table, err)
			}
			out[p.Name] = r
			return cli.ExitOK
		})
		if code != cli.ExitOK {
			return code
		}
	}
	if inv.Common.JSON {
		return inv.WriteJSON(out)
	}
	return cli.ExitOK
}

func runTableShow(inv *cli.Invocation, a *tableArgs) cli.ExitCode {
	return eachTable(inv, a, "table show", func(p *spec.Pipeline, t *tables.Table) (any, error) {
		snaps := t.Snapshots()
		if !inv.Common.JSON {
			fmt.Fprintf(inv.Stdout, "%s: table %s at %s, current snapshot %d, %d snapshots\n  metadata %s\n", p.Name, t.Name(), t.Location(), t.SnapshotID(), len(snaps), t.MetadataLocation())
			for _, s := range snaps {
				fmt.Fprintf(inv.Stdout, "  %d  %s  %-9s  run %s\n", s.ID, s.Committed.Format(time.RFC3339), s.Operation, s.RunID)
			}
		}
		return map[string]any{"table": t.Name(), "location": t.Location(), "metadata_location": t.MetadataLocation(), "current_snapshot": t.SnapshotID(), "snapshots": snaps}, nil
	})
}

func runTableExpire(inv *cli.Invocation, a *tableArgs) cli.ExitCode {
	return eachTable(inv, a, "table expire-snapshots", func(p *spec.Pipeline, t *tables.Table) (any, error) {
		exp, err := t.ExpireSnapshots(inv.Ctx, tables.ExpireOptions{OlderThan: a.olderThan, RetainLast: a.retainLast, DryRun: a.dryRun})
		if err != nil {
			return nil, err
		}
		if !inv.Common.JSON {
			verb := "expired"
			if a.dryRun {
				verb = "would expire"
			}
			fmt.Fprintf(inv.Stdout, "%s: %s %d snapshots of %s (older than %s, keeping the last %d).\n", p.Name, verb, len(exp), t.Name(), a.olderThan, max(a.retainLast, 1))
			for _, s := range exp {
				fmt.Fprintf(inv.Stdout, "  %d  %s  run %s\n", s.ID, s.Committed.Format(time.RFC3339), s.RunID)
			}
		}
		return map[string]any{"dry_run": a.dryRun, "expired": exp}, nil
	})
}

func runTableOrphans(inv *cli.Invocation, a *tableArgs) cli.ExitCode {
	if a.olderThan < time.Hour {
		fmt.Fprintf(inv.Stderr, "Warning: -older-than %s is shorter than an hour: files a run elsewhere is still writing may be removed.\n", a.olderThan)
	}
	return eachTable(inv, a, "table remove-orphans", func(p *spec.Pipeline, t *tables.Table) (any, error) {
		orphans, err := t.RemoveOrphans(inv.Ctx, a.olderThan, a.dryRun)
		if err != nil {
			return nil, err
		}
		var total int64
		for _, o := range orphans {
			total += o.Bytes
		}
		if !inv.Common.JSON {
			verb := "removed"
			if a.dryRun {
				verb = "would remove"
			}
			fmt.Fprintf(inv.Stdout, "%s: %s %d orphan files (%s) of %s older than %s.\n", p.Name, verb, len(orphans), planner.FormatBytes(total), t.Name(), a.olderThan)
			for _, o := range orphans {
				fmt.Fprintf(inv.Stdout, "  %s\n", o.Path)
			}
		}
		return map[string]any{"dry_run": a.dryRun, "orphans": orphans, "bytes": total}, nil
	})
}
