package exec

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/sluicedata/sluice/exec/write"
)

// OutputPartitions lists the output partition directories (relative to the
// sink, "dt=2026-01-01/") that the job's inputs feed: what an
// overwrite_partitions run replaces whole, including a partition whose rows
// are all filtered out (it is emptied).
func (job *Job) OutputPartitions() []string {
	return affectedPartitions(job)
}

// affectedPartitions renders the output partition directory of every input.
func affectedPartitions(job *Job) []string {
	pos := make([]int, len(job.Sink.PartitionBy))
	for i, k := range job.Sink.PartitionBy {
		pos[i] = -1
		for j, f := range job.Source.PartitionFields {
			if f.Name == k {
				pos[i] = j
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	vals := make([]string, len(pos))
	for _, t := range job.Tasks {
		for _, in := range t.Inputs {
			for i, p := range pos {
				if p < 0 || p >= len(in.Partition) {
					vals[i] = ""
				} else {
					vals[i] = renderPartitionValue(in.Partition[p])
				}
			}
			dir := write.PartitionPath(job.Sink.PartitionBy, vals)
			if !seen[dir] {
				seen[dir] = true
				out = append(out, dir)
			}
		}
	}
	slices.Sort(out)
	return out
}

// renderPartitionValue formats a typed partition value as the writer
// renders the same value in an output path (write.PartitionValue). A
// partition key is a string, an integer or a date (spec enforces it);
// TestPartitionValueRenderingMatchesWriter holds the two together.
func renderPartitionValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case int32: // date: days since the epoch
		return time.Unix(int64(x)*86400, 0).UTC().Format("2006-01-02")
	}
	return fmt.Sprint(v)
}
