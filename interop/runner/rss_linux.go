package runner

// maxRSSBytes converts ru_maxrss, which Linux reports in KiB.
func maxRSSBytes(v int64) int64 { return v << 10 }
