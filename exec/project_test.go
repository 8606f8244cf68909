package exec

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/predicate"
	"github.com/sluicedata/sluice/spec/schema"
)

// outputJob is orderJob with an output block: id renamed to order, a
// derived amount, and dt passed through (the partition column).
func outputJob(t *testing.T, l *lake, tasks []Task, cols ...[2]string) *Job {
	t.Helper()
	job := orderJob(t, l, "", tasks)
	env := predicate.Env{Columns: append(append([]schema.Column(nil), orderCols...),
		schema.Column{Name: "dt", Type: schema.StringType, Nullable: true}), Partitions: []string{"dt"}}
	job.Sink.Columns = nil
	for _, c := range cols {
		e, errs := predicate.CompileValue(c[1], env)
		if len(errs) > 0 {
			t.Fatalf("%s: %v", c[1], errs)
		}
		job.Output = append(job.Output, OutputSpec{Name: c[0], Expr: e, Type: e.Type()})
		job.Sink.Columns = append(job.Sink.Columns, c[0])
	}
	return job
}

func TestRunOutputColumns(t *testing.T) {
	ctx := context.Background()
	l := newLake(t)
	a := l.put("dt=2026-01-01/a.json", `{"id":"a1","amount":5}`+"\n"+`{"id":"a2","amount":null}`+"\n", false)
	a.Partition = []any{"2026-01-01"}
	job := outputJob(t, l, []Task{{Index: 0, Inputs: []Input{a}}},
		[2]string{"order", "id"}, [2]string{"amount_x10", "amount * 10"}, [2]string{"dt", "dt"})
	job.Checks = []CheckSpec{{Name: "pos", Expr: compileOut(t, job, "amount_x10 > 0 || amount_x10 == nil"), Severity: spec.SeverityError, MinRows: -1}}
	res, err := Run(ctx, job, Options{Alloc: checked(t)})
	if err != nil {
		t.Fatal(err)
	}
	if res.ChecksFailed() {
		t.Fatalf("checks %+v", res.Checks)
	}
	commit(t, l, res, nil)
	want := "2026-01-01|a1|50,2026-01-01|a2|(null)"
	if got := strings.Join(l.readOutput(), ","); got != want {
		t.Fatalf("rows\n got %s\nwant %s", got, want)
	}
}

// compileOut compiles a check over job's output columns.
func compileOut(t *testing.T, job *Job, src string) *predicate.Predicate {
	t.Helper()
	var cols []schema.Column
	for _, o := range job.Output {
		cols = append(cols, schema.Column{Name: o.Name, Type: o.Type, Nullable: true})
	}
	p, errs := predicate.Compile(src, predicate.Env{Columns: cols})
	if len(errs) > 0 {
		t.Fatalf("%s: %v", src, errs)
	}
	return p
}

// dedupeLake puts 30 objects of 20 rows each: ids repeat across objects
// (id k%17) and amount is the row's position in the lake (so the output
// shows which row won). The dedupe orders by ord, a derived value that
// repeats (ties, which only the input order decides) and is null where
// amount % 5 == 0 (division by zero).
func dedupeLake(t *testing.T, l *lake) []Input {
	var ins []Input
	for f := 0; f < 30; f++ {
		var b strings.Builder
		for r := 0; r < 20; r++ {
			pos := f*20 + r
			fmt.Fprintf(&b, `{"id":"k%d","amount":%d}`+"\n", (pos*7)%17, pos)
		}
		in := l.put(fmt.Sprintf("dt=2026-01-01/%02d.json", f), b.String(), false)
		in.Partition = []any{"2026-01-01"}
		in.Seq = f
		ins = append(ins, in)
	}
	return ins
}

const dedupeOrd = "amount % 3 / (amount % 5)"

// dedupeReference is the winners computed row by row: per id, the row
// with the greatest (ord, nulls first; position) for keep last, the least
// for keep first.
func dedupeReference(last bool) string {
	type row struct {
		id  string
		ord *float64
		pos int
	}
	cmp := func(a, b row) int {
		switch {
		case a.ord == nil && b.ord != nil:
			return -1
		case a.ord != nil && b.ord == nil:
			return 1
		case a.ord != nil && *a.ord != *b.ord:
			if *a.ord < *b.ord {
				return -1
			}
			return 1
		}
		return a.pos - b.pos
	}
	best := map[string]row{}
	for pos := 0; pos < 600; pos++ {
		rw := row{id: fmt.Sprintf("k%d", (pos*7)%17), pos: pos}
		if pos%5 != 0 {
			v := float64(pos%3) / float64(pos%5)
			rw.ord = &v
		}
		cur, ok := best[rw.id]
		if !ok || last && cmp(rw, cur) > 0 || !last && cmp(rw, cur) < 0 {
			best[rw.id] = rw
		}
	}
	var out []string
	for _, r := range best {
		out = append(out, fmt.Sprintf("2026-01-01|%s|%d", r.id, r.pos))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func TestRunDedupeAcrossTasks(t *testing.T) {
	for _, c := range []struct {
		name     string
		last     bool
		tasks    int
		par      int
		spillMem int64
	}{
		{"last, 3 tasks", true, 3, 2, 0},
		{"first, 1 task", false, 1, 1, 0},
		{"last, 7 tasks, spilling", true, 7, 3, 1},
		{"first, 30 tasks, spilling", false, 30, 4, 2048},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			l := newLake(t)
			ins := dedupeLake(t, l)
			// Inputs dealt round robin: a task holds inputs far apart in
			// key order, as first-fit packing can make.
			tasks := make([]Task, c.tasks)
			for i, in := range ins {
				tasks[i%c.tasks].Index = i % c.tasks
				tasks[i%c.tasks].Inputs = append(tasks[i%c.tasks].Inputs, in)
			}
			job := outputJob(t, l, tasks, [2]string{"id", "id"}, [2]string{"amount", "amount"}, [2]string{"ord", dedupeOrd}, [2]string{"dt", "dt"})
			keep := spec.KeepFirst
			if c.last {
				keep = spec.KeepLast
			}
			job.Dedupe = &DedupeSpec{Key: []string{"id"}, OrderBy: "ord", Keep: keep}
			res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: c.par, DedupeMemory: c.spillMem})
			if err != nil {
				t.Fatal(err)
			}
			if res.Stats.RowsOut != 17 || res.Stats.Deduped != 600-17 {
				t.Fatalf("stats %+v", res.Stats)
			}
			commit(t, l, res, nil)
			got := l.readOutput()
			sort.Strings(got)
			if g, w := strings.Join(got, ","), dedupeReference(c.last); g != w {
				t.Fatalf("winners\n got %s\nwant %s", g, w)
			}
		})
	}
}

// A failed cast in an output expression is a bad record of its row, named
// by object, row, output column and value: fail stops the run, skip counts
// it, quarantine also writes it; try_ gives null instead.
func TestRunOutputCastFailures(t *testing.T) {
	body := `{"id":"12","amount":1}` + "\n" + `{"id":"x7","amount":2}` + "\n" + `{"id":"30","amount":3}` + "\n"
	for _, c := range []struct {
		expr string
		badRecordCase
	}{
		{"int(id)", badRecordCase{policy: spec.BadRecordFail, err: `on_bad_record = "fail": bad record: dt=2026-01-01/a.json row 2: column "n": int('x7'): not an integer`}},
		{"int(id)", badRecordCase{policy: spec.BadRecordSkip, rows: "2026-01-01|12|1,2026-01-01|30|3", bad: 1}},
		{"int(id)", badRecordCase{policy: spec.BadRecordQuarantine, rows: "2026-01-01|12|1,2026-01-01|30|3", bad: 1}},
		{"try_int(id)", badRecordCase{policy: spec.BadRecordFail, rows: "2026-01-01|(null)|2,2026-01-01|12|1,2026-01-01|30|3"}},
	} {
		t.Run(c.policy.String()+" "+c.expr, func(t *testing.T) {
			l := newLake(t)
			a := l.put("dt=2026-01-01/a.json", body, false)
			a.Partition = []any{"2026-01-01"}
			job := outputJob(t, l, []Task{{Index: 0, Inputs: []Input{a}}}, [2]string{"n", c.expr}, [2]string{"amount", "amount"}, [2]string{"dt", "dt"})
			c.run(t, l, job)
		})
	}
}

// badRecordCase is the outcome of a run under an on_bad_record policy:
// the error wanted (a substring; "" for success), else the bad records
// counted and the rows written (in readOutput's form).
type badRecordCase struct {
	policy spec.BadRecordPolicy
	err    string
	bad    int64
	rows   string
}

// run runs job under c.policy and checks the outcome; a quarantine
// policy must have written the bad records' file.
func (c badRecordCase) run(t *testing.T, l *lake, job *Job) {
	t.Helper()
	job.Source.OnBadRecord = c.policy
	res, err := Run(context.Background(), job, Options{Alloc: checked(t)})
	if c.err != "" {
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Fatalf("error %v, want one containing %q", err, c.err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Stats.BadRecords != c.bad {
		t.Fatalf("bad records %d, want %d", res.Stats.BadRecords, c.bad)
	}
	if (c.policy == spec.BadRecordQuarantine) != (len(res.Quarantine) == 1) {
		t.Fatalf("quarantine %v", res.Quarantine)
	}
	commit(t, l, res, nil)
	if got := strings.Join(l.readOutput(), ","); got != c.rows {
		t.Fatalf("rows\n got %s\nwant %s", got, c.rows)
	}
}

// An int64 key (the fast path), null for some rows: nulls are one key.
func TestRunDedupeInt64KeyWithNulls(t *testing.T) {
	for _, spill := range []int64{0, 1} {
		ctx := context.Background()
		l := newLake(t)
		ins := dedupeLake(t, l)
		tasks := []Task{{Index: 0}, {Index: 1}, {Index: 2}}
		for i, in := range ins {
			tasks[i%3].Inputs = append(tasks[i%3].Inputs, in)
		}
		// k is amount % (amount % 5): null where amount % 5 == 0.
		job := outputJob(t, l, tasks, [2]string{"k", "amount % (amount % 5)"}, [2]string{"amount", "amount"}, [2]string{"ord", dedupeOrd}, [2]string{"dt", "dt"})
		job.Dedupe = &DedupeSpec{Key: []string{"k"}, OrderBy: "ord", Keep: spec.KeepFirst}
		res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2, DedupeMemory: spill})
		if err != nil {
			t.Fatal(err)
		}
		commit(t, l, res, nil)
		type row struct {
			ord *float64
			pos int
		}
		best := map[string]row{}
		for pos := 0; pos < 600; pos++ {
			k, r := "(null)", row{pos: pos}
			if pos%5 != 0 {
				k = fmt.Sprint(pos % (pos % 5))
				v := float64(pos%3) / float64(pos%5)
				r.ord = &v
			}
			cur, ok := best[k]
			less := func(a, b row) bool { // a before b
				switch {
				case a.ord == nil && b.ord != nil:
					return true
				case a.ord != nil && b.ord == nil:
					return false
				case a.ord != nil && *a.ord != *b.ord:
					return *a.ord < *b.ord
				}
				return a.pos < b.pos
			}
			if !ok || less(r, cur) {
				best[k] = r
			}
		}
		var want []string
		for k, r := range best {
			want = append(want, fmt.Sprintf("2026-01-01|%s|%d", k, r.pos))
		}
		sort.Strings(want)
		got := l.readOutput()
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("spill %d: winners\n got %v\nwant %v", spill, got, want)
		}
	}
}

// A task run alone (another process's) cannot dedupe across the run.
func TestRunTaskRefusesDedupe(t *testing.T) {
	l := newLake(t)
	job := outputJob(t, l, []Task{{Index: 0}}, [2]string{"id", "id"})
	job.Dedupe = &DedupeSpec{Key: []string{"id"}, Keep: spec.KeepFirst}
	_, err := RunTask(context.Background(), job, 0, Options{})
	if err == nil || !strings.Contains(err.Error(), "-executor local") {
		t.Fatalf("err %v", err)
	}
}

// A task retried under -retries with a dedupe: the run's winners are
// those of a run without the failure.
func TestDedupeWithTaskRetry(t *testing.T) {
	ctx := context.Background()
	l, job, _ := retryLake(t, 1, errors.New("connection reset by peer"))
	seq := 0
	for i := range job.Tasks {
		for j := range job.Tasks[i].Inputs {
			job.Tasks[i].Inputs[j].Seq = seq
			seq++
		}
	}
	env := predicate.Env{Columns: append(append([]schema.Column(nil), orderCols...),
		schema.Column{Name: "dt", Type: schema.StringType, Nullable: true}), Partitions: []string{"dt"}}
	job.Sink.Columns = nil
	for _, c := range []string{"id", "amount", "dt"} {
		e, errs := predicate.CompileValue(c, env)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		job.Output = append(job.Output, OutputSpec{Name: c, Expr: e, Type: e.Type()})
		job.Sink.Columns = append(job.Sink.Columns, c)
	}
	job.Dedupe = &DedupeSpec{Key: []string{"dt"}, OrderBy: "amount", Keep: spec.KeepLast}
	res, err := Run(ctx, job, Options{Alloc: checked(t), Parallelism: 2, Retries: 2, RetryBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	commit(t, l, res, nil)
	if got, want := strings.Join(l.readOutput(), ","), "2026-01-01|a1|5,2026-01-02|b2|8"; got != want {
		t.Fatalf("rows %s, want %s", got, want)
	}
}

// A where that cannot decide a row (a failed cast) makes the row a bad
// record named by its object, even when the task merged several objects'
// rows into one batch before filtering; a check counts such a row as
// failing and says why.
func TestRunWhereCastFailures(t *testing.T) {
	good := `{"id":"12","amount":1}` + "\n" + `{"id":"5","amount":2}` + "\n"
	bad := `{"id":"30","amount":3}` + "\n" + `{"id":"x7","amount":4}` + "\n" + `{"id":"40","amount":5}` + "\n"
	kept := "2026-01-01|12|1,2026-01-02|30|3,2026-01-02|40|5"
	for _, c := range []struct {
		where string
		badRecordCase
	}{
		{"int(id) > 10", badRecordCase{policy: spec.BadRecordFail, err: `on_bad_record = "fail": bad record: dt=2026-01-02/b.json row 2: column "id": where: int('x7'): not an integer`}},
		{"int(id) > 10", badRecordCase{policy: spec.BadRecordSkip, rows: kept, bad: 1}},
		{"amount > 0 && int(id) > 10", badRecordCase{policy: spec.BadRecordQuarantine, rows: kept, bad: 1}},
		{"try_int(id) > 10", badRecordCase{policy: spec.BadRecordFail, rows: kept}},
		// The branch not taken is no error, as in the reference evaluator.
		{"id == 'x7' || int(id) > 10", badRecordCase{policy: spec.BadRecordFail, rows: kept + ",2026-01-02|x7|4"}},
	} {
		t.Run(c.policy.String()+" "+c.where, func(t *testing.T) {
			l := newLake(t)
			a := l.put("dt=2026-01-01/a.json", good, false)
			a.Partition = []any{"2026-01-01"}
			b := l.put("dt=2026-01-02/b.json", bad, false)
			b.Partition, b.Seq = []any{"2026-01-02"}, 1 // the plan numbers inputs
			c.run(t, l, orderJob(t, l, c.where, []Task{{Index: 0, Inputs: []Input{a, b}}}))
		})
	}
	t.Run("check", func(t *testing.T) {
		ctx := context.Background()
		l := newLake(t)
		b := l.put("dt=2026-01-02/b.json", bad, false)
		b.Partition = []any{"2026-01-02"}
		job := outputJob(t, l, []Task{{Index: 0, Inputs: []Input{b}}}, [2]string{"id", "id"}, [2]string{"amount", "amount"}, [2]string{"dt", "dt"})
		job.Checks = []CheckSpec{{Name: "numeric", Expr: compileOut(t, job, "int(id) > 0"), Severity: spec.SeverityError, MinRows: -1}}
		res, err := Run(ctx, job, Options{Alloc: checked(t)})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Checks) != 1 || res.Checks[0].Failing != 1 || len(res.Checks[0].Examples) != 1 ||
			!strings.HasSuffix(res.Checks[0].Examples[0], "(int('x7'): not an integer)") {
			t.Fatalf("checks %+v", res.Checks)
		}
	})
}
