variable "lake" {
  type        = string
  default     = "../demo-lake"
  description = "Root of the data lake: a local directory (make demo generates one) or s3://bucket/prefix"
}

state {
  url = "${var.lake}/state"
}
