package planner

// DefaultOpenCost is what each file costs when packing tasks, on top of its
// size: opening an object costs about as much as reading 4 MiB of it
// (Spark's spark.sql.files.openCostInBytes, for the same reason).
const DefaultOpenCost = 4 << 20

// DefaultTaskBytes is the task size when the source sets none.
const DefaultTaskBytes = 128 << 20

// packWindow bounds how many open tasks first-fit scans per file, keeping
// packing O(files) when many tasks stay part-full.
const packWindow = 64

// Task is a unit of work: inputs read together and written by one writer
// set. Inputs index the pipeline's input list.
type Task struct {
	ID     int     `json:"id"`
	Inputs []int32 `json:"inputs"`
	Bytes  int64   `json:"bytes"` // sum of input sizes
}

// taskPacking packs the chosen inputs into tasks of about task_bytes: in
// key order, each file goes to the first open task it fits in (its size
// plus the open cost), else to a new task; a file never splits, so a file
// larger than task_bytes is a task of its own.
//
// Why it is safe: packing changes only which inputs are read together.
// Tasks share no state and each input is in exactly one task, so the
// union of the tasks' outputs is the same for any packing. It would be
// wrong if the writers relied on one task seeing a whole output partition
// (overwrite_partitions replaces partitions at commit, from every task's
// outputs, so they do not).
func taskPacking(rc *RuleContext, n Node) (Node, bool, error) {
	target := rc.Pipeline.Source.TaskBytes
	if target <= 0 {
		target = DefaultTaskBytes
	}
	cost := rc.OpenCost
	if cost <= 0 {
		cost = DefaultOpenCost
	}
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		if s.Selection == nil {
			return s, false, nil
		}
		c := *s
		c.Tasks = PackTasks(s.Selection.Inputs, target, cost)
		rc.fired("task_packing", "%s into %s of about %s", plural(int64(s.Selection.Inputs.Len()), "input"), plural(int64(len(c.Tasks)), "task"), FormatBytes(target))
		return &c, len(c.Tasks) > 0, nil
	})
}

// PackTasks is the packing of taskPacking, exposed for tests and tools.
func PackTasks(in *Inputs, target, openCost int64) []Task {
	var tasks []Task
	var load []int64 // charged bytes per task
	var open []int   // indices of tasks that may still take a file
	for i := 0; i < in.Len(); i++ {
		size := in.Size(i)
		charge := size + openCost
		placed := -1
		for j, t := range open {
			if load[t]+charge <= target {
				placed = t
				load[t] += charge
				if target-load[t] < openCost {
					open = append(open[:j], open[j+1:]...) // full: no file fits any more
				}
				break
			}
		}
		if placed < 0 {
			placed = len(tasks)
			tasks = append(tasks, Task{ID: placed})
			load = append(load, charge)
			if target-charge >= openCost {
				open = append(open, placed)
				if len(open) > packWindow {
					open = open[1:]
				}
			}
		}
		tasks[placed].Inputs = append(tasks[placed].Inputs, int32(i))
		tasks[placed].Bytes += size
	}
	return tasks
}
