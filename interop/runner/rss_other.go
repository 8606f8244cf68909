//go:build !linux

package runner

// maxRSSBytes converts ru_maxrss; BSDs and macOS differ in units, and the
// benchmark is only documented on Linux, so the value is passed through.
func maxRSSBytes(v int64) int64 { return v }
