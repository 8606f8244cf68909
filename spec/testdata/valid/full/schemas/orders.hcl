schema "orders" {
  column "order_id" {
    type        = "string"
    nullable    = false
    description = "Primary key"
  }
  column "customer_id" {
    type = "int64"
  }
  column "amount" {
    type = "decimal(12, 2)"
  }
  column "created_at" {
    type             = "timestamp(ms)"
    timestamp_format = "2006-01-02 15:04:05"
  }
  column "dt" {
    type = "date"
  }
}
