package apply

import (
	"context"
	"fmt"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/txn"
)

// Remote is an Executor whose tasks run in other processes (Temporal
// workers, Kubernetes or AWS Batch jobs; package dist and its
// sub-packages). apply journals Ref before Run, so that recovery after a
// crash of this process knows what to stop (Options.StopExecutor), and
// refuses committer = "direct" with it: a task retried elsewhere would
// publish its files twice.
type Remote interface {
	Executor
	// Ref names the executor and the handle of job's tasks there (a
	// Temporal workflow id), as the journal records them.
	Ref(job *exec.Job) (kind, ref string)
}

// refuseDirect fails a direct-committer job on a Remote executor, before
// anything is journaled.
func refuseDirect(ex Executor, job *exec.Job) error {
	r, ok := ex.(Remote)
	if !ok || job.Sink.Committer != spec.CommitterDirect {
		return nil
	}
	kind, _ := r.Ref(job)
	return fmt.Errorf("pipeline %s: sink %s has committer = \"direct\", which the %s executor refuses: a task that is retried on another worker would publish its files twice; use committer = \"atomic\" (the default) or -executor local", job.Pipeline, job.Sink.Name, kind)
}

// journalExecutor records a Remote executor's handle in the run's journal
// before any task starts there.
func journalExecutor(ctx context.Context, ex Executor, run *txn.Run, job *exec.Job) error {
	r, ok := ex.(Remote)
	if !ok {
		return nil
	}
	kind, ref := r.Ref(job)
	return run.RecordExecutor(ctx, kind, ref)
}

// recoverOptions passes Options.StopExecutor and Options.Catalogs to
// recovery.
func (o Options) recoverOptions() []txn.Option {
	opts := []txn.Option{txn.WithCatalogs(o.Catalogs)}
	if o.StopExecutor != nil {
		opts = append(opts, txn.StopExecutors(o.StopExecutor))
	}
	return opts
}
