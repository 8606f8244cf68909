# The same order events committed to an Apache Iceberg table in the embedded catalog (a SQLite
# file; no server): every engine that reads Iceberg sees each run appear whole, as one snapshot
# that carries the run id, committed exactly once together with the bookmarks.
catalog "lake" {
  type      = "sql"
  uri       = var.catalog_file
  warehouse = "${var.lake}/warehouse"
}

pipeline "orders_table" {
  description = "EU/US orders as an Iceberg table, by day and customer bucket"

  source "orders" {
    url           = "${var.lake}/raw/orders/"
    format        = "json"
    schema        = schema_file("../schemas/orders.hcl")
    partitions    = ["dt", "region"]
    where         = "region in ['eu', 'us']"
    exclude       = ["**/_tmp/**"]
    on_bad_record = "quarantine"

    bounded {
      files = 800
    }
  }

  sink "iceberg" {
    format       = "iceberg"
    catalog      = "lake"
    table        = "sales.orders"
    partition_by = ["dt", "bucket(4, customer_id)"]
    mode         = "append"
  }
}
