package dist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/sluicedata/sluice/exec"
	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/planner"
	"github.com/sluicedata/sluice/state"
)

// Run locates one distributed run: the state directory of its pipeline's
// source and its run id. Everything its tasks need lives under that
// directory, so a worker needs only these two strings.
type Run struct {
	// Dir is the pipeline source's state directory (the journal's).
	Dir   objstore.Location
	RunID string
}

// planName is the saved plan's object name inside runs/<run id>/.
const planName = "plan.sluiceplan"

// RunOf locates job's run: its plan's state directory, opened with open.
func RunOf(ctx context.Context, job *exec.Job, open exec.OpenFunc) (Run, error) {
	if job.Plan == nil {
		return Run{}, fmt.Errorf("pipeline %s: a distributed run needs the job's plan", job.Pipeline)
	}
	loc, err := open(ctx, job.Plan.State.URL)
	if err != nil {
		return Run{}, fmt.Errorf("state %s: %w", job.Plan.State.URL, err)
	}
	return Run{Dir: objstore.Location{Store: loc.Store, Prefix: job.Plan.State.Dir}, RunID: job.RunID}, nil
}

// OpenRun opens a run from its state directory's URL and its id (what
// travels to workers); open nil is objstore.Open.
func OpenRun(ctx context.Context, dirURL, runID string, open exec.OpenFunc) (Run, error) {
	if !strings.HasSuffix(dirURL, "/") {
		dirURL += "/"
	}
	loc, err := TaskOptions{Open: open}.open()(ctx, dirURL)
	if err != nil {
		return Run{}, fmt.Errorf("state %s: %w", dirURL, err)
	}
	return Run{Dir: loc, RunID: runID}, nil
}

// DirURL is the state directory as a URL, for workers to open.
func (r Run) DirURL() string {
	u := r.Dir.String()
	if !strings.HasSuffix(u, "/") {
		u += "/"
	}
	return u
}

func (r Run) key(rel string) string { return r.Dir.Key("runs/" + r.RunID + "/" + rel) }

// PlanKey is the saved plan's key.
func (r Run) PlanKey() string { return r.key(planName) }

// PlanURL is the saved plan's URL: what `sluice task -plan` takes.
func (r Run) PlanURL() string { return r.DirURL() + "runs/" + r.RunID + "/" + planName }

// TaskKey is task i's result record.
func (r Run) TaskKey(i int) string { return r.key(fmt.Sprintf("tasks/%d.json", i)) }

// FailedKey is task i's permanent-failure record.
func (r Run) FailedKey(i int) string { return r.key(fmt.Sprintf("failed/%d.json", i)) }

// ParsePlanURL splits a plan URL (PlanURL) into the state directory's URL
// and the run id.
func ParsePlanURL(u string) (dirURL, runID string, err error) {
	rest, ok := strings.CutSuffix(u, "/"+planName)
	i := strings.LastIndex(rest, "/runs/")
	if !ok || i < 0 || strings.Contains(rest[i+len("/runs/"):], "/") || rest[i+len("/runs/"):] == "" {
		return "", "", fmt.Errorf("%s is not a saved run plan (want <state>/<pipeline>/<source>/runs/<run id>/%s)", u, planName)
	}
	return rest[:i+1], rest[i+len("/runs/"):], nil
}

// SavePlan writes job's plan under the run, create-only. A plan already
// there (an earlier attempt of this write) is kept: a run id is used once.
func SavePlan(ctx context.Context, r Run, job *exec.Job) error {
	if job.Plan == nil {
		return fmt.Errorf("pipeline %s: a distributed run needs the job's plan", job.Pipeline)
	}
	var buf bytes.Buffer
	p := &planner.Plan{FormatVersion: planner.FormatVersion, RunID: job.RunID, Pipelines: []*planner.PipelinePlan{job.Plan}}
	if err := planner.Encode(&buf, p); err != nil {
		return fmt.Errorf("saving the plan of run %s: %w", job.RunID, err)
	}
	_, err := r.Dir.Store.Put(ctx, r.PlanKey(), buf.Bytes(), objstore.PutOptions{IfNoneMatch: true, Object: objstore.ObjectOptions{ContentType: "application/gzip"}})
	if err != nil && !errors.Is(err, objstore.ErrPrecondition) {
		return fmt.Errorf("saving the plan of run %s at %s: %w", job.RunID, r.PlanURL(), err)
	}
	return nil
}

// jobs caches the jobs built from saved plans: a worker runs many tasks of
// one run, and a plan of many inputs takes a while to read and type.
var jobs struct {
	sync.Mutex
	m     map[string]*exec.Job
	order []string
}

const cachedJobs = 4

// LoadJob reads the run's saved plan and builds its job (exec.JobFromPlan),
// once per process and run. A missing plan is a permanent failure.
func LoadJob(ctx context.Context, r Run, open exec.OpenFunc) (*exec.Job, error) {
	id := r.PlanURL()
	jobs.Lock()
	if j, ok := jobs.m[id]; ok {
		jobs.Unlock()
		return j, nil
	}
	jobs.Unlock()
	rc, _, err := r.Dir.Store.Get(ctx, r.PlanKey())
	if err != nil {
		if errors.Is(err, objstore.ErrNotExist) {
			return nil, &Error{Kind: KindNoPlan, Err: fmt.Errorf("the plan of run %s is gone (%s): %w", r.RunID, r.PlanURL(), err)}
		}
		return nil, fmt.Errorf("reading the plan of run %s: %w", r.RunID, err)
	}
	data, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the plan of run %s: %w", r.RunID, err)
	}
	p, err := planner.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, &Error{Kind: KindNoPlan, Err: fmt.Errorf("the plan of run %s (%s): %w", r.RunID, r.PlanURL(), err)}
	}
	if len(p.Pipelines) != 1 || p.RunID != r.RunID {
		return nil, &Error{Kind: KindNoPlan, Err: fmt.Errorf("%s is not the one-pipeline plan of run %s", r.PlanURL(), r.RunID)}
	}
	job, err := exec.JobFromPlan(ctx, r.RunID, p.Pipelines[0], open)
	if err != nil {
		return nil, err
	}
	jobs.Lock()
	defer jobs.Unlock()
	if jobs.m == nil {
		jobs.m = map[string]*exec.Job{}
	}
	if _, ok := jobs.m[id]; !ok {
		jobs.m[id] = job
		jobs.order = append(jobs.order, id)
		if len(jobs.order) > cachedJobs {
			delete(jobs.m, jobs.order[0])
			jobs.order = jobs.order[1:]
		}
	}
	return job, nil
}

// checkLive fails permanently when the run is over (its journal DONE or
// ABORTED, or gone): a task that starts late, on a worker that was frozen
// or on a job nobody stopped, must not write for a run nobody will commit.
func checkLive(ctx context.Context, r Run) error {
	// The journal's key as state.Bookmarks.JournalKey spells it, relative
	// to the directory (which a worker may have opened as its root).
	var j state.Journal
	err := readJSON(ctx, r.Dir.Store, r.Dir.Key("journal/"+r.RunID+".json"), &j)
	if errors.Is(err, objstore.ErrNotExist) {
		return &Error{Kind: KindRunOver, Err: fmt.Errorf("run %s has no journal: it is not running", r.RunID)}
	}
	if err != nil {
		return err
	}
	if j.Phase != state.PhaseWriting {
		return &Error{Kind: KindRunOver, Err: fmt.Errorf("run %s is %s: its tasks are no longer wanted", r.RunID, j.Phase)}
	}
	return nil
}
