# Device metrics written by an edge service as many small Parquet files.
schema "metrics" {
  column "device_id" {
    type = "string"
  }
  column "ts" {
    type = "timestamp(ms)"
  }
  column "temperature" {
    type = "float64"
  }
  column "humidity" {
    type = "float64"
  }
  column "battery" {
    type = "int32"
  }
  column "firmware" {
    type = "string"
  }
}
