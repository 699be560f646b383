matter "m" {}

tenant {
  cloud = "demo"
}

variable "review_start" {
  type    = string
  default = "2024-01-01"

  validation {
    condition     = can(regex("^\\d{4}-\\d{2}-\\d{2}$", var.review_start))
    error_message = "review_start must be a date written YYYY-MM-DD."
  }
}

window "relevant" {
  start = var.review_start
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
