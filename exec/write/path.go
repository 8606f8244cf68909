package write

import "github.com/sluicedata/sluice/hive"

// UnescapePathValue is hive.Unescape. It stays only for exec/fixture's
// readback, which is being moved in parallel and will call package hive
// directly; new code calls hive.Unescape.
func UnescapePathValue(s string) string { return hive.Unescape(s) }
