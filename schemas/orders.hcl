# Orders as the shop's order service emits them: one JSON object per line.
schema "orders" {
  column "order_id" {
    type        = "string"
    nullable    = false
    description = "Order identifier, o-<digits>"
  }
  column "customer_id" {
    type = "int64"
  }
  column "amount" {
    type        = "decimal(12, 2)"
    description = "Order total in the order's currency"
  }
  column "currency" {
    type = "string"
  }
  column "status" {
    type = "string"
  }
  column "items" {
    type = "int32"
  }
  column "created_at" {
    type = "timestamp(ms)"
  }
  column "coupon" {
    type = "string"
  }
  column "dt" {
    type = "date"
  }
}
