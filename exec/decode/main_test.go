package decode

import (
	"os"
	"testing"
)

// TestMain adapts the Parquet codecs as cmd/sluice's main does (UseReadCodecs), before
// any test reads Parquet.
func TestMain(m *testing.M) {
	UseReadCodecs()
	os.Exit(m.Run())
}
