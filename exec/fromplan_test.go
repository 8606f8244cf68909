package exec

import "testing"

// Shared partition tuples are keyed by an encoding no two different
// value lists share.
func TestTupleIDIsUnambiguous(t *testing.T) {
	lists := [][]string{{}, {""}, {"", ""}, {"a/b", "c"}, {"a", "b/c"}, {"a", "bc"}, {"ab", "c"}, {"1:a"}, {"1", "a"}, {"a:", ""}}
	seen := map[string]int{}
	for i, l := range lists {
		id := string(tupleID(nil, l))
		if j, ok := seen[id]; ok {
			t.Fatalf("%q and %q share the id %q", lists[j], l, id)
		}
		seen[id] = i
	}
}
