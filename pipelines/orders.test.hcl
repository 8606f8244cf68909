# Fixture tests for orders_curated: run with `sluice test pipelines`.

test "keeps_eu_us_orders_with_positive_amounts" {
  pipeline    = "orders_curated"
  description = "The where clause drops refunds (amount <= 0), other regions and days before 2026."

  input "dt=2026-01-02/region=eu/part-0001.json" {
    content = <<-EOT
      {"order_id":"o-1","customer_id":7,"amount":12.5,"currency":"EUR","status":"paid","items":1,"created_at":"2026-01-02T10:00:00Z"}
      {"order_id":"o-2","customer_id":8,"amount":-3.00,"currency":"EUR","status":"refunded","items":1,"created_at":"2026-01-02T11:00:00Z"}
    EOT
  }

  input "dt=2026-01-02/region=us/part-0001.json.gz" {
    rows = [
      { order_id = "o-3", customer_id = 9, amount = 99.99, currency = "USD", status = "placed", created_at = "2026-01-02T12:30:00Z" },
    ]
  }

  input "dt=2026-01-02/region=apac/part-0001.json" {
    rows = [{ order_id = "o-4", customer_id = 10, amount = 5, currency = "JPY", status = "paid", created_at = "2026-01-02T01:00:00Z" }]
  }

  input "dt=2025-12-31/region=eu/part-0001.json" {
    rows = [{ order_id = "o-5", customer_id = 11, amount = 1, currency = "EUR", status = "paid", created_at = "2025-12-31T23:00:00Z" }]
  }

  expect {
    rows = [
      { order_id = "o-1", customer_id = 7, amount = "12.50", currency = "EUR", region = "eu", dt = "2026-01-02", created_at = "2026-01-02T10:00:00Z" },
      { order_id = "o-3", customer_id = 9, amount = "99.99", currency = "USD", region = "us", dt = "2026-01-02", created_at = "2026-01-02 12:30:00" },
    ]
  }
}

test "quarantines_bad_records" {
  pipeline    = "orders_curated"
  description = "on_bad_record = quarantine: a malformed line is set aside, the good ones are written."

  input "dt=2026-01-03/region=eu/part-0001.json" {
    content = <<-EOT
      {"order_id":"o-10","customer_id":1,"amount":10.00,"currency":"EUR","status":"paid","created_at":"2026-01-03T08:00:00Z"}
      {"order_id":"o-11","customer_id":"not a number","amount":11.00}
      {"order_id":"o-12","customer_id":2,"amount":12.00,"currency":"EUR","status":"paid","created_at":"2026-01-03T09:00:00Z"}
    EOT
  }

  expect {
    rows        = [{ order_id = "o-10" }, { order_id = "o-12" }]
    bad_records = 1
  }
}

test "ignores_tmp_and_underscore_paths" {
  pipeline = "orders_curated"

  input "dt=2026-01-04/region=us/part-0001.json" {
    rows = [{ order_id = "o-20", customer_id = 1, amount = 1.5 }]
  }
  input "dt=2026-01-04/region=us/_tmp/part-0002.json" {
    rows = [{ order_id = "o-21", customer_id = 1, amount = 2.5 }]
  }

  expect {
    rows = [{ order_id = "o-20", amount = "1.50", status = null }]
  }
}

test "quarantines_orders_without_id" {
  pipeline    = "orders_curated"
  description = "order_id is declared non-nullable: a record without one is a bad record, never an output row."

  input "dt=2026-01-05/region=eu/part-0001.json" {
    rows = [
      { order_id = "o-30", customer_id = 1, amount = 3 },
      { customer_id = 2, amount = 4 },
    ]
  }

  expect {
    rows        = [{ order_id = "o-30", customer_id = 1 }]
    bad_records = 1
  }
}
