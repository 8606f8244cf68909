package icebergcheck

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	// A SQLite engine to read the catalog's one row; it is not Iceberg code.
	_ "modernc.org/sqlite"
)

// Snapshot is one snapshot of the table's metadata.
type Snapshot struct {
	ID        string `json:"id"`
	Parent    string `json:"parent"`
	Sequence  int64  `json:"sequence"`
	Operation string `json:"operation"`
	RunID     string `json:"run_id"`
}

// File is one live data file of the current snapshot.
type File struct {
	Path        string         `json:"path"`
	LocalPath   string         `json:"local_path"`
	Partition   map[string]any `json:"partition"`
	RecordCount int64          `json:"record_count"`
	Status      string         `json:"status"`      // ADDED or EXISTING in its manifest
	SnapshotID  string         `json:"snapshot_id"` // the snapshot that added it
}

// Table is what verify.js read.
type Table struct {
	FormatVersion     int              `json:"format_version"`
	Location          string           `json:"location"`
	CurrentSnapshotID string           `json:"current_snapshot_id"`
	Snapshots         []Snapshot       `json:"snapshots"`
	Files             []File           `json:"files"`
	Partitions        map[string]int64 `json:"partitions"`
	TotalRecords      int64            `json:"total_records"`
}

// History is the snapshots from the first to the current one, following
// the parent links back from the current snapshot.
func (t *Table) History() ([]Snapshot, error) {
	byID := map[string]Snapshot{}
	for _, s := range t.Snapshots {
		byID[s.ID] = s
	}
	var out []Snapshot
	for id := t.CurrentSnapshotID; id != ""; {
		s, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("snapshot %s is not listed", id)
		}
		out = append(out, s)
		id = s.Parent
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

// script is verify.js next to this file.
func script() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "verify.js")
}

// NodePath is the directory holding the avsc package (SLUICE_NODE_PATH,
// set by make test-interop).
func NodePath() (string, error) {
	p := os.Getenv("SLUICE_NODE_PATH")
	if p == "" {
		return "", errors.New("SLUICE_NODE_PATH is not set: run make test (or make test-interop), which installs avsc with npm and sets it")
	}
	if _, err := os.Stat(filepath.Join(p, "avsc", "package.json")); err != nil {
		return "", fmt.Errorf("SLUICE_NODE_PATH=%s holds no avsc: %v", p, err)
	}
	return p, nil
}

// Read reads the table whose current metadata file is metadata.
func Read(ctx context.Context, nodePath, metadata string) (*Table, error) {
	cmd := exec.CommandContext(ctx, "node", script(), metadata)
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("node verify.js %s: %v\n%s", metadata, err, errb.String())
	}
	var t Table
	if err := json.Unmarshal(out.Bytes(), &t); err != nil {
		return nil, fmt.Errorf("verify.js output: %v", err)
	}
	return &t, nil
}

// MetadataLocation reads the current metadata file of namespace.table
// from a sql catalog's SQLite file (the JDBC catalog layout that Java's
// JdbcCatalog and PyIceberg's SqlCatalog share).
func MetadataLocation(ctx context.Context, catalogDB, namespace, table string) (string, error) {
	db, err := sql.Open("sqlite", "file:"+catalogDB+"?mode=ro")
	if err != nil {
		return "", err
	}
	defer db.Close()
	var loc string
	err = db.QueryRowContext(ctx, `SELECT metadata_location FROM iceberg_tables WHERE table_namespace = ? AND table_name = ?`, namespace, table).Scan(&loc)
	if err != nil {
		return "", fmt.Errorf("catalog %s: table %s.%s: %w", catalogDB, namespace, table, err)
	}
	return loc, nil
}

// PartitionKey writes a partition tuple as "k=v/k=v" in key order, for
// comparisons.
func PartitionKey(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, p[k])
	}
	return strings.Join(parts, "/")
}
