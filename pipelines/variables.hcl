variable "lake" {
  type        = string
  default     = "../demo-lake"
  description = "Root of the data lake: a local directory (make demo generates one) or s3://bucket/prefix"
}

state {
  url = "${var.lake}/state"
}

variable "catalog_file" {
  type        = string
  default     = "../demo-lake/catalog.db"
  description = "The embedded Iceberg catalog: a SQLite file, always local (its warehouse may be on S3)"
}
