# Fixture tests for clicks_daily: run with `sluice test pipelines`.

test "drops_bots_and_negative_durations" {
  pipeline = "clicks_daily"

  # Inline content in a key ending in .gz is gzipped, as the collector writes it.
  input "dt=2026-01-07/hour-00.csv.gz" {
    content = <<-EOT
      ts,session_id,user_id,url,referrer,country,duration_ms,is_bot
      2026-01-07 00:09:56,s-1,101,/cart,"https://example.com/?q=a,b",BR,12683,false
      2026-01-07 00:45:51,s-2,102,/help,NULL,GB,37023,true
      2026-01-07 00:50:00,s-3,103,/home,,DE,-1,false
    EOT
  }

  input "dt=2026-01-07/hour-01.csv.gz" {
    rows = [
      { ts = "2026-01-07 01:00:00", session_id = "s-4", user_id = 104, url = "/", referrer = "NULL", country = "FR", duration_ms = 0, is_bot = false },
    ]
  }

  expect {
    rows = [
      { session_id = "s-1", referrer = "https://example.com/?q=a,b", duration_ms = 12683, dt = "2026-01-07", ts = "2026-01-07T00:09:56Z" },
      { session_id = "s-4", referrer = null, duration_ms = 0, dt = "2026-01-07", ts = "2026-01-07 01:00:00" },
    ]
  }
}

test "reads_only_included_keys" {
  pipeline    = "clicks_daily"
  description = "include = [\"dt=*/*.csv.gz\"]: plain CSV and keys outside a dt= directory are not inputs."

  input "dt=2026-01-08/hour-00.csv.gz" {
    rows = [{ ts = "2026-01-08 00:00:01", session_id = "s-10", user_id = 1, url = "/", country = "US", duration_ms = 5, is_bot = false }]
  }
  input "dt=2026-01-08/hour-00.csv" {
    rows = [{ ts = "2026-01-08 00:00:02", session_id = "s-11", user_id = 2, url = "/", country = "US", duration_ms = 5, is_bot = false }]
  }
  input "hour-00.csv.gz" {
    rows = [{ ts = "2026-01-08 00:00:03", session_id = "s-12", user_id = 3, url = "/", country = "US", duration_ms = 5, is_bot = false }]
  }

  expect {
    rows = [{ session_id = "s-10", user_id = 1, country = "US" }]
  }
}

test "one_output_partition_per_day" {
  pipeline = "clicks_daily"

  input "dt=2026-01-09/hour-00.csv.gz" {
    rows = [{ ts = "2026-01-09 00:00:00", session_id = "a", user_id = 1, url = "/", country = "US", duration_ms = 1, is_bot = false }]
  }
  input "dt=2026-01-09/hour-23.csv.gz" {
    rows = [{ ts = "2026-01-09 23:00:00", session_id = "b", user_id = 1, url = "/", country = "US", duration_ms = 2, is_bot = false }]
  }
  input "dt=2026-01-10/hour-00.csv.gz" {
    rows = [{ ts = "2026-01-10 00:00:00", session_id = "c", user_id = 1, url = "/", country = "US", duration_ms = 3, is_bot = false }]
  }

  expect {
    rows = [
      { session_id = "a", dt = "2026-01-09" },
      { session_id = "b", dt = "2026-01-09" },
      { session_id = "c", dt = "2026-01-10" },
    ]
  }
}

test "reads_a_recorded_export" {
  pipeline    = "clicks_daily"
  description = "A real collector file, copied byte for byte from testdata/."

  input "dt=2026-01-11/hour-05.csv.gz" {
    file = "testdata/clicks-hour-05.csv.gz"
  }

  expect {
    rows = [
      { session_id = "s-50", user_id = 501, duration_ms = 100, referrer = null },
      { session_id = "s-51", user_id = 502, duration_ms = 200, referrer = null },
    ]
  }
}
