package tables

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"

	"github.com/sluicedata/sluice/spec"
	"github.com/sluicedata/sluice/spec/schema"
)

// RunIDKey is the snapshot summary property that names the sluice run a
// snapshot committed: recovery looks for it in the table's history.
const RunIDKey = "sluice.run-id"

// Want is what a pipeline writes into a table.
type Want struct {
	Table          string // "ns.table"
	Columns        []schema.Column
	Partitioning   []spec.PartitionField
	OnSchemaChange spec.SchemaChangePolicy
}

// Inspection is a table as plan shows it.
type Inspection struct {
	Exists   bool
	Location string
	// SnapshotID is the current snapshot (0: none yet); Snapshots counts
	// the snapshots in the table's metadata.
	SnapshotID int64
	Snapshots  int
	Change     SchemaChange
}

func ident(name string) (table.Identifier, error) {
	ns, t, ok := spec.SplitTable(name)
	if !ok {
		return nil, fmt.Errorf("invalid table name %q (want namespace.table)", name)
	}
	return append(append(table.Identifier{}, ns...), t), nil
}

// Missing reports an error that means the table (or its namespace, or a
// sql catalog's file) does not exist.
func Missing(err error) bool { return err != nil && missing(err) }

// missing reports errors that mean the table does not exist (yet).
func missing(err error) bool {
	return errors.Is(err, catalog.ErrNoSuchTable) || errors.Is(err, catalog.ErrNoSuchNamespace) ||
		errors.Is(err, ErrNoCatalog) ||
		// A sql catalog file that no apply has written to yet has no
		// iceberg_tables table; plan opens it read-only and cannot create it.
		strings.Contains(err.Error(), "no such table: iceberg_tables")
}

// Inspect reads the table w names for plan, without changing anything: a
// sql catalog is opened read-only. A table that does not exist is checked
// for creation (its schema and partition spec must be buildable); one that
// does is compared with the output (a *SchemaError when the output cannot
// be written into it as configured).
func (o *Opener) Inspect(ctx context.Context, cfg CatalogConfig, w Want) (*Inspection, error) {
	id, err := ident(w.Table)
	if err != nil {
		return nil, err
	}
	in := &Inspection{}
	c, err := o.OpenReadOnly(ctx, cfg)
	var tbl *table.Table
	if err == nil {
		defer c.Close()
		tbl, err = c.cat.LoadTable(ctx, id)
	}
	if err != nil {
		if !missing(err) {
			return nil, fmt.Errorf("loading table %s: %w", w.Table, err)
		}
		sc, err := newSchema(w.Columns)
		if err != nil {
			return nil, &SchemaError{w.Table, "it cannot be created: " + err.Error()}
		}
		if _, err := newSpec(sc, w.Partitioning); err != nil {
			return nil, &SchemaError{w.Table, "its partitioning cannot be built: " + err.Error()}
		}
		if cfg.Type == TypeSQL || cfg.Type == "" {
			in.Location = sqlTableLocation(cfg, id)
		}
		return in, nil
	}
	in.Exists, in.Location = true, tbl.Location()
	if s := tbl.CurrentSnapshot(); s != nil {
		in.SnapshotID = s.SnapshotID
	}
	in.Snapshots = len(tbl.Metadata().Snapshots())
	if in.Change, err = diffSchema(w.Table, tbl.Schema(), w.Columns, w.OnSchemaChange); err != nil {
		return nil, err
	}
	if err := checkSpec(w.Table, tbl.Spec(), tbl.Schema(), w.Partitioning); err != nil {
		return nil, err
	}
	return in, nil
}

// sqlTableLocation is where iceberg-go's sql catalog puts a new table:
// <warehouse>/<namespace>.db/<table>.
func sqlTableLocation(cfg CatalogConfig, id table.Identifier) string {
	return WarehouseURI(cfg.Warehouse) + "/" + strings.Join(id[:len(id)-1], ".") + ".db/" + id[len(id)-1]
}

// Table is a loaded table of an open catalog.
type Table struct {
	c     *Catalog
	name  string
	id    table.Identifier
	tbl   *table.Table
	skip  []string // output columns not written (on_schema_change = "ignore")
	parts []spec.PartitionField
}

// Load loads an existing table.
func (c *Catalog) Load(ctx context.Context, name string) (*Table, error) {
	id, err := ident(name)
	if err != nil {
		return nil, err
	}
	tbl, err := c.cat.LoadTable(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("loading table %s: %w", name, err)
	}
	return &Table{c: c, name: name, id: id, tbl: tbl}, nil
}

// Prepare readies the table w names to receive a run's files, before the
// run writes any: it creates the namespace and the table when missing,
// adds the output columns the table lacks (on_schema_change =
// "add_columns"), and checks everything else as Inspect does. Both
// changes are catalog commits of their own, idempotent, and harmless if
// the run is later rolled back (an empty table, an all-null column).
func (c *Catalog) Prepare(ctx context.Context, w Want) (*Table, error) {
	id, err := ident(w.Table)
	if err != nil {
		return nil, err
	}
	tbl, err := c.cat.LoadTable(ctx, id)
	if err != nil && !missing(err) {
		return nil, fmt.Errorf("loading table %s: %w", w.Table, err)
	}
	if err != nil {
		if tbl, err = c.create(ctx, id, w); err != nil {
			return nil, err
		}
	}
	ch, err := diffSchema(w.Table, tbl.Schema(), w.Columns, w.OnSchemaChange)
	if err != nil {
		return nil, err
	}
	if err := checkSpec(w.Table, tbl.Spec(), tbl.Schema(), w.Partitioning); err != nil {
		return nil, err
	}
	t := &Table{c: c, name: w.Table, id: id, tbl: tbl, skip: ch.Skip, parts: w.Partitioning}
	if len(ch.Add) > 0 {
		if err := t.addColumns(ctx, ch.Add); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func (c *Catalog) create(ctx context.Context, id table.Identifier, w Want) (*table.Table, error) {
	ns := catalog.NamespaceFromIdent(id)
	if err := c.cat.CreateNamespace(ctx, ns, iceberg.Properties{"created-by": "sluice"}); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return nil, fmt.Errorf("creating namespace %s: %w", strings.Join(ns, "."), err)
	}
	sc, err := newSchema(w.Columns)
	if err != nil {
		return nil, &SchemaError{w.Table, "it cannot be created: " + err.Error()}
	}
	ps, err := newSpec(sc, w.Partitioning)
	if err != nil {
		return nil, &SchemaError{w.Table, "its partitioning cannot be built: " + err.Error()}
	}
	opts := []catalog.CreateTableOpt{
		catalog.WithPartitionSpec(&ps),
		catalog.WithProperties(iceberg.Properties{
			"format-version":       "2",
			"write.format.default": "parquet",
			"created-by":           "sluice",
		}),
	}
	if c.cfg.Type == TypeGlue && c.cfg.Warehouse != "" {
		opts = append(opts, catalog.WithLocation(WarehouseURI(c.cfg.Warehouse)+"/"+strings.Join(ns, ".")+".db/"+id[len(id)-1]))
	}
	tbl, err := c.cat.CreateTable(ctx, id, sc, opts...)
	if errors.Is(err, catalog.ErrTableAlreadyExists) {
		// Another process created it since we looked.
		tbl, err = c.cat.LoadTable(ctx, id)
	}
	if err != nil {
		return nil, fmt.Errorf("creating table %s: %w", strings.Join(id, "."), err)
	}
	return tbl, nil
}

// addColumns adds optional columns, retrying a conflicting commit.
func (t *Table) addColumns(ctx context.Context, cols []schema.Column) error {
	return t.retry(ctx, defaultAttempts, func(tbl *table.Table) (bool, error) {
		ch, err := diffSchema(t.name, tbl.Schema(), cols, spec.SchemaChangeAddColumns)
		if err != nil {
			return false, err
		}
		if len(ch.Add) == 0 {
			return false, nil // another writer added them
		}
		txn := tbl.NewTransaction()
		us := txn.UpdateSchema(true, false)
		for _, c := range ch.Add {
			it, err := icebergType(c.Type, func() int { return 0 })
			if err != nil {
				return false, err
			}
			us = us.AddColumn([]string{c.Name}, it, c.Description, false, nil)
		}
		if err := us.Commit(); err != nil {
			return false, fmt.Errorf("adding columns to %s: %w", t.name, err)
		}
		nt, err := txn.Commit(ctx)
		if err != nil {
			return true, err
		}
		t.tbl = nt
		return false, nil
	})
}

// Name is the table's name ("ns.table").
func (t *Table) Name() string { return t.name }

// Location is the table's base location (a URI).
func (t *Table) Location() string { return strings.TrimSuffix(t.tbl.Location(), "/") }

// MetadataLocation is the table's current metadata file: what engines
// without a catalog (DuckDB's iceberg_scan) open.
func (t *Table) MetadataLocation() string { return t.tbl.MetadataLocation() }

// DataLocation is where sluice writes the table's data files: the table's
// data/ directory, which the table owns (orphan removal covers it).
func (t *Table) DataLocation() string { return t.Location() + "/data/" }

// FileURI is the location a table records for the file at rel (a key
// relative to the data location, hive-escaped): file:// locations are
// URIs, so their segments are percent-encoded (a hive "%2F" is "%252F");
// object store keys are taken verbatim, as Iceberg's S3 FileIO does.
func FileURI(dataLocation, rel string) string {
	if !strings.HasPrefix(dataLocation, "file:") {
		return dataLocation + rel
	}
	segs := strings.Split(rel, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return dataLocation + strings.Join(segs, "/")
}

// SnapshotID is the current snapshot's id (0: none).
func (t *Table) SnapshotID() int64 {
	if s := t.tbl.CurrentSnapshot(); s != nil {
		return s.SnapshotID
	}
	return 0
}

// WriteSpec is how a run's data files are written for the table.
type WriteSpec struct {
	// Schema is the files' schema: the written output columns in order,
	// each with the table's type and its field id (and its nested fields')
	// under the PARQUET:field_id metadata key.
	Schema *arrow.Schema
	// Partition are the spec's fields in order; the data files keep the
	// source columns inside (Iceberg readers need them), and are laid out
	// in directories named by the fields.
	Partition []PartitionField
}

// WriteSpec is how files of the output columns cols are written into the
// table as it is now (after Prepare).
func (t *Table) WriteSpec(cols []schema.Column) (WriteSpec, error) {
	sc := t.tbl.Schema()
	full, err := table.SchemaToArrowSchema(sc, nil, true, false)
	if err != nil {
		return WriteSpec{}, fmt.Errorf("table %s: arrow schema: %w", t.name, err)
	}
	var fields []arrow.Field
	for _, c := range cols {
		if contains(t.skip, c.Name) {
			continue
		}
		idx := full.FieldIndices(c.Name)
		if len(idx) != 1 {
			return WriteSpec{}, fmt.Errorf("table %s has no column %q", t.name, c.Name)
		}
		fields = append(fields, full.Field(idx[0]))
	}
	ws := WriteSpec{Schema: arrow.NewSchema(fields, nil)}
	ps := t.tbl.Spec()
	pt := ps.PartitionType(sc)
	i := 0
	for _, f := range ps.Fields() {
		src, _ := sc.FindColumnName(f.SourceID())
		pf := PartitionField{Name: f.Name, Column: src, FieldID: f.FieldID, Result: pt.FieldList[i].Type.String()}
		if i < len(t.parts) {
			pf.Spec = t.parts[i]
		}
		ws.Partition = append(ws.Partition, pf)
		i++
	}
	return ws, nil
}

// FindRun looks for the snapshot that committed runID in the ancestry of
// the table's current snapshot: only there is a run committed (a snapshot
// that lost a race, or was rolled back, may still be listed in the
// metadata but is not what readers see).
func (t *Table) FindRun(runID string) (int64, bool) {
	cur := t.tbl.CurrentSnapshot()
	if cur == nil {
		return 0, false
	}
	for _, s := range table.AncestorsOf(cur.SnapshotID, t.tbl.Metadata().SnapshotByID) {
		if s.Summary != nil && s.Summary.Properties[RunIDKey] == runID {
			return s.SnapshotID, true
		}
	}
	return 0, false
}

// Mentions reports whether any snapshot in the table's metadata, current or
// not, carries runID: its data files may then be referenced (time travel
// to a rolled-back snapshot) and must not be deleted by a roll-back.
func (t *Table) Mentions(runID string) bool {
	for _, s := range t.tbl.Metadata().Snapshots() {
		if s.Summary != nil && s.Summary.Properties[RunIDKey] == runID {
			return true
		}
	}
	return false
}

// Reload reads the table's current metadata from the catalog again.
func (t *Table) Reload(ctx context.Context) error {
	tbl, err := t.c.cat.LoadTable(ctx, t.id)
	if err != nil {
		return fmt.Errorf("reloading table %s: %w", t.name, err)
	}
	t.tbl = tbl
	return nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
