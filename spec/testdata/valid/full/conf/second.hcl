pipeline "events" {
  source "raw" {
    url    = "data/events"
    format = "csv"
    column "id" {
      type     = "int64"
      nullable = false
    }
    column "name" {
      type = "string"
    }
    csv {
      header    = false
      delimiter = "\t"
    }
    task_bytes = "10KB"
  }
  sink "out" {
    url         = "file:///tmp/sluice-out/events"
    format      = "csv"
    compression = "gzip"
    mode        = "overwrite"
    csv {
      delimiter = ";"
    }
  }
}
