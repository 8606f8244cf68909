state {
  url = "/s"
}

pipeline "events" {
  source "raw" {
    url    = "/in/"
    format = "parquet"
  }

  sink "out" {
    url         = "/out/"
    format      = "parquet"
    compression = "snappy"
  }
}
