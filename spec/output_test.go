package spec

import (
	"strings"
	"testing"
)

func TestOutputBlock(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
pipeline "p" {
  source "s" {
    url        = "in/"
    format     = "json"
    partitions = ["dt"]
    column "id" {
      type     = "int32"
      nullable = false
    }
    column "customer" {
      type = "string"
    }
    column "amount_cents" {
      type = "int64"
    }
    column "note" {
      type = "string"
    }
  }
  output {
    column "order_id" { expr = "id" }
    column "customer" {}
    column "amount" {
      expr = "amount_cents * 2"
      type = "float64"
    }
    column "big_id" {
      expr = "id"
      type = "int64"
    }
    rest = "keep"
    drop = ["note"]
  }
  dedupe {
    key      = ["order_id"]
    order_by = "amount"
    keep     = "last"
  }
  check "pos" { expr = "amount >= 0 && dt != nil" }
  sink "k" {
    url          = "out/"
    partition_by = ["dt"]
  }
}
`})
	cfg := mustLoad(t, dir, LoadOptions{})
	p := cfg.Pipelines[0]
	if got, want := colList(p.OutputColumns()), "order_id:int32!,customer:string,amount:float64,big_id:int64,amount_cents:int64,dt:string"; got != want {
		t.Errorf("output columns\n got %s\nwant %s", got, want)
	}
	var srcs []string
	for _, it := range p.Output.Items {
		srcs = append(srcs, it.Name+"<"+it.Source()+">"+it.Expr.String())
	}
	// id is renamed and also widened (big_id: a derived cast), amount is
	// derived, the rest keeps amount_cents (only used inside an
	// expression) and the key dt, and drops note.
	if got, want := strings.Join(srcs, " "), "order_id<id>id customer<customer>customer amount<>amount_cents * 2 big_id<>id amount_cents<amount_cents>amount_cents dt<dt>dt"; got != want {
		t.Errorf("items\n got %s\nwant %s", got, want)
	}
	if p.Checks[0].Expr == nil {
		t.Error("the check over output columns did not compile")
	}
	if d := p.Dedupe; d == nil || d.Keep != KeepLast || d.OrderBy != "amount" || d.Key[0] != "order_id" {
		t.Errorf("dedupe = %+v", d)
	}
}

// An iceberg sink partitions by output columns too, derived ones included.
func TestOutputIcebergPartitionByDerived(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
catalog "lake" {
  type      = "sql"
  uri       = "cat.db"
  warehouse = "wh/"
}
pipeline "p" {
  source "s" {
    url        = "in/"
    format     = "json"
    partitions = ["dt"]
    column "id" {
      type = "int64"
    }
  }
  output {
    column "order_id" { expr = "id" }
    column "day" { expr = "date(dt)" }
  }
  sink "t" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "shop.orders"
    partition_by = ["day", "bucket(4, order_id)"]
  }
}
`})
	cfg := mustLoad(t, dir, LoadOptions{})
	if got := len(cfg.Pipelines[0].Sink.Partitioning); got != 2 {
		t.Fatalf("partitioning %+v", cfg.Pipelines[0].Sink.Partitioning)
	}
}
