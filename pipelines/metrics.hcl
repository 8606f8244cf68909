# Thousands of small Parquet files compacted into well-sized ones, 4 MiB of input per run (the demo drains it in a few runs).
pipeline "metrics_compacted" {
  description = "Compact small device-metric Parquet files"

  source "metrics" {
    url        = "${var.lake}/raw/metrics/"
    format     = "parquet"
    schema     = schema_file("../schemas/metrics.hcl")
    partitions = ["dt"]
    where      = "battery > 5"

    bounded {
      bytes = "4MiB"
    }
  }

  check "enough_rows" {
    min_rows = 1
  }

  sink "compacted" {
    url              = "${var.lake}/curated/metrics/"
    format           = "parquet"
    partition_by     = ["dt"]
    target_file_size = "128MiB"
  }
}
