package spec

import (
	"encoding/json"
	"strings"
	"testing"
)

// Enums are written by name, read back by name or by the numbers older plan
// files hold, and an unknown name is an error naming the choices.
func TestEnumsInJSON(t *testing.T) {
	type settings struct {
		Format    Format             `json:"format"`
		Codec     Compression        `json:"codec"`
		Bad       BadRecordPolicy    `json:"bad"`
		Change    ChangePolicy       `json:"change"`
		Schema    SchemaChangePolicy `json:"schema"`
		Mode      Mode               `json:"mode"`
		Committer Committer          `json:"committer"`
		Severity  Severity           `json:"severity"`
	}
	in := settings{FormatParquet, CompressionZstd, BadRecordQuarantine, ChangeReprocess, SchemaChangeAddColumns, ModeOverwritePartitions, CommitterDirect, SeverityWarn}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"format":"parquet","codec":"zstd","bad":"quarantine","change":"reprocess","schema":"add_columns","mode":"overwrite_partitions","committer":"direct","severity":"warn"}`
	if string(b) != want {
		t.Fatalf("marshal\n got %s\nwant %s", b, want)
	}
	var back settings
	if err := json.Unmarshal(b, &back); err != nil || back != in {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
	var old settings
	if err := json.Unmarshal([]byte(`{"format":3,"codec":4,"bad":3,"change":2,"schema":2,"mode":3,"committer":2,"severity":2}`), &old); err != nil || old != in {
		t.Fatalf("numbers of older plan files: %+v, %v", old, err)
	}
	var unset settings
	if b, err := json.Marshal(unset); err != nil || !strings.Contains(string(b), `"mode":""`) {
		t.Fatalf("unset: %s, %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"format":"","mode":""}`), &unset); err != nil || unset.Format != 0 || unset.Mode != 0 {
		t.Fatalf("unset back: %+v, %v", unset, err)
	}
	var bad settings
	if err := json.Unmarshal([]byte(`{"mode":"upsert"}`), &bad); err == nil || !strings.Contains(err.Error(), "append, overwrite, overwrite_partitions") {
		t.Fatalf("unknown name: %v", err)
	}
	if _, err := json.Marshal(settings{Mode: 42}); err == nil {
		t.Fatal("a mode without a name was written")
	}
}
