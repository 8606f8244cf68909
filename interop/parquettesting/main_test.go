package parquettesting

import (
	"os"
	"testing"

	"github.com/sluicedata/sluice/exec/decode"
)

// TestMain adapts the Parquet codecs as cmd/sluice's main does (UseReadCodecs).
func TestMain(m *testing.M) {
	decode.UseReadCodecs()
	os.Exit(m.Run())
}
