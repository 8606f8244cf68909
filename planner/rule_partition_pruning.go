package planner

// partitionPruning hands the partition-only conjuncts to the listing, which
// evaluates them on every key=value prefix as it walks and never lists a
// prefix on which one is false.
//
// Why it is safe: a partition-only conjunct reads only keys whose value is
// fixed by the prefix for every file below it, so false on the prefix is
// false for every row of every file below (the conjunct is ANDed into
// where). Prefixes whose value does not parse as the key's type, or whose
// conjunct needs a key not yet known, are unknown and descended into. It
// would be wrong for files outside the key=value layout (they carry no
// values); the listing does not read those as inputs at all.
func partitionPruning(rc *RuleContext, n Node) (Node, bool, error) {
	return withScan(n, func(s *Scan) (*Scan, bool, error) {
		if len(s.PartitionConjuncts) == 0 || s.PruneListing {
			return s, false, nil
		}
		c := *s
		c.PruneListing = true
		rc.fired("partition_pruning", "listing prunes on %s", conjText(s.PartitionConjuncts))
		return &c, true, nil
	})
}
