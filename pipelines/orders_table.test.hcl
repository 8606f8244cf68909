# Fixture tests for orders_table: run with `sluice test pipelines`. The table lives in a
# catalog of the test's own (a temporary SQLite file), never in the configured one.

test "appends_eu_us_orders_to_the_table" {
  pipeline    = "orders_table"
  description = "Every EU/US order lands in the table, with its partition columns inside the data."

  input "dt=2026-01-02/region=eu/part-0001.json" {
    rows = [
      { order_id = "o-1", customer_id = 7, amount = 12.5, currency = "EUR", status = "paid", created_at = "2026-01-02T10:00:00Z" },
      { order_id = "o-2", customer_id = 8, amount = -3, currency = "EUR", status = "refunded", created_at = "2026-01-02T11:00:00Z" },
    ]
  }

  input "dt=2026-01-03/region=apac/part-0001.json" {
    rows = [{ order_id = "o-3", customer_id = 9, amount = 5, currency = "JPY", status = "paid", created_at = "2026-01-03T01:00:00Z" }]
  }

  expect {
    rows = [
      { order_id = "o-1", customer_id = 7, amount = "12.50", region = "eu", dt = "2026-01-02", created_at = "2026-01-02T10:00:00Z" },
      { order_id = "o-2", customer_id = 8, amount = "-3.00", region = "eu", dt = "2026-01-02", created_at = "2026-01-02T11:00:00Z" },
    ]
  }
}
