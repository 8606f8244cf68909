# Fixture tests for metrics_compacted: run with `sluice test pipelines`.

test "keeps_devices_with_battery_above_5" {
  pipeline = "metrics_compacted"

  # Rows of a Parquet source are written as Parquet, typed by the source schema.
  input "dt=2026-01-01/part-00001.parquet" {
    rows = [
      { device_id = "d-1", ts = "2026-01-01T00:00:00Z", temperature = 21.5, humidity = 0.4, battery = 80, firmware = "1.2.0" },
      { device_id = "d-2", ts = "2026-01-01T00:00:01Z", temperature = 19, humidity = 0.5, battery = 5, firmware = "1.2.0" },
    ]
  }
  input "dt=2026-01-01/part-00002.parquet" {
    rows = [
      { device_id = "d-3", ts = "2026-01-01T00:00:02.250Z", temperature = -4.25, battery = 6 },
    ]
  }

  expect {
    rows = [
      { device = "d-1", ts = "2026-01-01T00:00:00Z", temperature = 21.5, temperature_f = 70.7, humidity = 0.4, battery = 80, day = "2026-01-01" },
      { device = "d-3", ts = "2026-01-01T00:00:02.25Z", temperature = -4.25, temperature_f = 24.35, humidity = null, battery = 6, day = "2026-01-01" },
    ]
  }
}

test "fails_when_every_row_is_filtered" {
  pipeline    = "metrics_compacted"
  description = "The enough_rows check (min_rows = 1) blocks a run that would write nothing."

  input "dt=2026-01-02/part-00001.parquet" {
    rows = [{ device_id = "d-9", ts = "2026-01-02T00:00:00Z", battery = 1 }]
  }

  expect {
    error = "enough_rows"
  }
}

test "partitions_by_the_reading_day" {
  pipeline    = "metrics_compacted"
  description = "day comes from ts, not from the path: a late reading lands in its own day."

  input "dt=2026-01-03/part-00001.parquet" {
    rows = [
      { device_id = "d-1", ts = "2026-01-02T23:59:59Z", temperature = 20, battery = 50 },
      { device_id = "d-1", ts = "2026-01-03T00:00:00Z", temperature = 100, battery = 50 },
    ]
  }

  expect {
    rows = [
      { device = "d-1", day = "2026-01-02", temperature_f = 68 },
      { device = "d-1", day = "2026-01-03", temperature_f = 212 },
    ]
  }
}
