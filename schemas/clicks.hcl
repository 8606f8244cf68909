# Web clicks exported hourly by the analytics collector as gzip CSV.
schema "clicks" {
  column "ts" {
    type             = "timestamp(us)"
    timestamp_format = "2006-01-02 15:04:05"
  }
  column "session_id" {
    type = "string"
  }
  column "user_id" {
    type = "int64"
  }
  column "url" {
    type = "string"
  }
  column "referrer" {
    type = "string"
  }
  column "country" {
    type = "string"
  }
  column "duration_ms" {
    type = "int32"
  }
  column "is_bot" {
    type = "bool"
  }
}
