state {
  url = "/lake/state"
}

pipeline "events" {
  source "raw" {
    url    = "s3://raw/events/"
    format = "csv"
    compression = "gzip"
    schema = schema_file("/lake/schemas/events.hcl")
    partitions = ["dt"]
    where = "dt >= '2026-01-02' && country in ['DE', \"FR\"]"
    select = ["id", "dt"]

    bounded {
      files = 4
    }
  }

  sink "out" {
    url         = "/lake/out/"
    format      = "parquet"
    compression = "snappy"
    partition_by = ["dt", "event"]
  }
}
