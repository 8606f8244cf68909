# Hourly gzip CSV exports; late files for a day replace that day's output whole.
pipeline "clicks_daily" {
  description = "Human clicks per day, late files rewrite their day"

  source "clicks" {
    url         = "${var.lake}/raw/clicks/"
    format      = "csv"
    compression = "gzip"
    schema      = schema_file("../schemas/clicks.hcl")
    partitions  = ["dt"]
    where       = "!is_bot && duration_ms >= 0"
    include     = ["dt=*/*.csv.gz"]

    csv {
      header      = true
      null_values = ["", "NULL"]
    }
  }

  sink "daily" {
    url          = "${var.lake}/curated/clicks/"
    format       = "parquet"
    compression  = "zstd"
    partition_by = ["dt"]
    mode         = "overwrite_partitions"
  }
}
