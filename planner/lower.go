package planner

import (
	"context"
	"fmt"
	"slices"

	"github.com/sluicedata/sluice/objstore"
	"github.com/sluicedata/sluice/spec"
)

// lower turns an optimized logical plan into the executable part of one
// pipeline's physical plan. It reads only the tree, so what the rules
// rewrote is what runs: the source's settings, shape, inputs, row groups
// and tasks from the Scan; the residual predicate from the Filter (none:
// every row is kept); the output columns from the Project, typed by the
// Scan's shape; the checks from the Check; the sink from the Write. The
// caller adds what is not the tree's: the state pin, the rule trace, the
// summary and the rendered nodes.
func lower(name string, root Node) (*PipelinePlan, error) {
	ns := nodesOf(root)
	scan, filter, project, check, write := ns.scan, ns.filter, ns.project, ns.check, ns.write
	if scan == nil || project == nil || write == nil || scan.Decl == nil || write.Decl == nil {
		return nil, fmt.Errorf("planner: cannot lower a plan without a declared Scan, a Project and a declared Write")
	}
	if scan.Selection == nil {
		return nil, fmt.Errorf("planner: cannot lower a plan whose inputs were never chosen (bounded_selection did not run)")
	}
	src, sk, shape := scan.Decl, write.Decl, scan.Shape
	pp := &PipelinePlan{
		Name: name,
		Source: SourceSettings{Name: src.Name, URL: src.URL, Prefix: scan.Prefix, Format: src.Format, Compression: src.Compression,
			Partitions: shape.PartitionNames(), PartitionTypes: shape.PartitionTypes(),
			OnBadRecord: src.OnBadRecord, OnSchemaChange: src.OnSchemaChange, CSV: src.CSV, MaxRecordBytes: src.MaxRecordBytes,
			CleanSource: src.CleanSource, ArchiveURL: src.ArchiveURL},
		Sink: SinkSettings{Name: sk.Name, URL: sk.URL, Format: sk.Format, Compression: sk.Compression, PartitionBy: sk.PartitionBy,
			Mode: sk.Mode, Committer: sk.Committer, TargetFileSize: sk.TargetFileSize, RowGroupSize: sk.RowGroupSize, S3: sk.S3, CSV: sk.CSV,
			Partitioning: sk.Partitioning},
		Tasks:     scan.Tasks,
		inputs:    scan.Selection.Inputs,
		rowGroups: scan.RowGroups,
	}
	if src.RescuedDataColumn != "" {
		pp.Source.RescuedDataColumn, pp.Source.DeclaredColumns = src.RescuedDataColumn, src.DeclaredColumns()
	}
	if pp.Tasks == nil {
		pp.Tasks = []Task{}
	}
	// Projection pushdown may have narrowed the columns decoded; nil (it
	// did not run) or none of an unknown file schema mean every column.
	for _, c := range shape.FileColumns {
		if scan.Columns == nil || len(scan.Columns) == 0 && scan.AllColumns == 0 || slices.Contains(scan.Columns, c.Name) {
			pp.FileSchema = append(pp.FileSchema, prunedColumn(c, scan.Fields))
		}
	}
	if o := project.Output; o != nil {
		if o.Items == nil {
			return nil, fmt.Errorf("planner: the output block of %s was never compiled against its source", name)
		}
		for _, it := range o.Items {
			pp.OutputSchema = append(pp.OutputSchema, it.Column)
			pp.OutputExprs = append(pp.OutputExprs, it.Text)
			if it.Exploded {
				pp.Explode = it.Name
			}
		}
	} else {
		pp.OutputSchema = shape.Columns(project.Columns)
	}
	if d := project.Dedupe; d != nil {
		pp.Dedupe = &DedupePlan{Key: d.Key, OrderBy: d.OrderBy, Keep: d.Keep}
	}
	if filter != nil && filter.Predicate != nil {
		pp.Where = filter.Predicate.Source
	}
	if check != nil {
		for _, c := range check.Checks {
			cp := CheckPlan{Name: c.Name, MinRows: c.MinRows, Severity: c.Severity}
			if c.Expr != nil {
				cp.Expr = c.Expr.Source
			}
			pp.Checks = append(pp.Checks, cp)
		}
	}
	return pp, nil
}

// schemaFromFirstInput completes the tree of a Parquet source whose schema
// is still unknown after inferSchema (its listing found no non-empty file)
// but whose run has inputs: the file columns are read from the first
// input's footer, and the Scan's shape and the Project's columns are
// derived again with them. Otherwise it returns root as it is.
func schemaFromFirstInput(ctx context.Context, rcPipeline *spec.Pipeline, root Node, store objstore.Store, footers FooterReader) (Node, error) {
	scan := FindScan(root)
	src := scan.Decl
	if src.Schema != nil || src.Format != spec.FormatParquet || footers == nil || scan.Selection == nil || scan.Selection.Inputs.Len() == 0 {
		return root, nil
	}
	in := scan.Selection.Inputs
	key := scan.Prefix + in.Rel(0)
	cols, err := footers.ReadColumns(ctx, store, key, in.Size(0))
	if err != nil {
		return nil, fmt.Errorf("schema from the footer of %s: %w", key, err)
	}
	shape := spec.NewSourceShape(cols, src.Partitions, src.Select)
	out, _, err := Transform(root, func(n Node) (Node, bool, error) {
		switch x := n.(type) {
		case *Scan:
			c := *x
			c.Shape = shape
			return &c, true, nil
		case *Project:
			if x.Output == nil {
				c := *x
				c.Columns = shape.OutputNames
				return &c, true, nil
			}
			p := *rcPipeline
			co, diags := spec.CompileOutput(x.Output, shape)
			if diags.HasErrors() {
				return nil, false, fmt.Errorf("output block against the schema of %s: %s", key, diagText(diags))
			}
			p.Output = co
			return newProject(x.Input, &p, shape), true, nil
		}
		return n, false, nil
	})
	return out, err
}
