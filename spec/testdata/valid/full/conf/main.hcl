variable "env" {
  type    = string
  default = "dev"
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}

variable "token" {
  type      = string
  default   = "hunter2-secret"
  sensitive = true
}

variable "files" {
  type    = number
  default = 500
}

locals {
  raw     = "s3://acme-${var.env}-raw"
  curated = "s3://acme-${upper(var.env)}-curated"
}

state {
  url = "../state-dir"
}

pipeline "orders_curated" {
  description = "EU/US orders since 2026 as partitioned Parquet"

  source "orders" {
    url        = "${local.raw}/orders/"
    format     = "json"
    schema     = schema_file("../schemas/orders.hcl")
    partitions = ["dt", "region"]
    where      = "dt >= '2026-01-01' && region in ['eu', 'us'] && amount > 0"
    select     = ["order_id", "customer_id", "amount", "dt", "region"]
    include    = ["**/*.json.gz"]
    exclude    = ["**/_tmp/**"]
    bounded {
      files = var.files
      bytes = "1GiB"
    }
  }

  check "order_id_present" {
    expr = "order_id != nil"
  }

  check "enough" {
    min_rows = 10
    severity = "warn"
  }

  sink "curated" {
    url              = "${local.curated}/orders/"
    partition_by     = ["dt"]
    target_file_size = "256MiB"
  }
}
