# Thousands of small Parquet files compacted into well-sized ones, 4 MiB of input per run (the demo drains it in a few runs),
# partitioned by the UTC day of each reading (derived from ts, whatever the path's dt) with the device column renamed.
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

  output {
    column "device" { expr = "device_id" } # a rename
    column "ts" {}
    column "day" { expr = "date(ts)" } # derived: the reading's UTC day, the output partition
    column "temperature_f" {
      expr = "temperature * 9 / 5 + 32"
      type = "float64"
    }
    rest = "keep" # temperature, humidity, battery and firmware follow
    drop = ["dt"] # the input path's day: day replaces it
  }

  check "enough_rows" {
    min_rows = 1
  }

  sink "compacted" {
    url              = "${var.lake}/curated/metrics/"
    format           = "parquet"
    partition_by     = ["day"]
    target_file_size = "128MiB"
  }
}
