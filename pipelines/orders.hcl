# Small NDJSON files (some gzip) from the order service, hive-partitioned by day and region,
# drained into day-partitioned Parquet a bounded batch at a time.
pipeline "orders_curated" {
  description = "EU/US orders since 2026 as day-partitioned Parquet"

  source "orders" {
    url           = "${var.lake}/raw/orders/"
    format        = "json"
    schema        = schema_file("../schemas/orders.hcl")
    partitions    = ["dt", "region"]
    where         = "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0"
    select        = ["order_id", "customer_id", "amount", "currency", "status", "created_at", "dt", "region"]
    exclude       = ["**/_tmp/**"]
    on_bad_record = "quarantine"

    bounded {
      files = 1500
    }
  }

  check "order_id_present" {
    expr = "order_id != nil"
  }

  sink "curated" {
    url          = "${var.lake}/curated/orders/"
    format       = "parquet"
    partition_by = ["dt"]
    mode         = "append"
  }
}
