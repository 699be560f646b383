matter "m" {}

tenant {
  cloud = "demo"
}

variable "custodian_emails" {
  type = list(string)
}

variable "review_start" {
  type    = string
  default = "2024-01-01"

  validation {
    condition     = strlen(var.review_start) == 10
    error_message = "review_start must be a date written YYYY-MM-DD."
  }
}

window "relevant" {
  start = var.review_start
}

custodian "jdoe" {
  email   = var.custodian_emails[0]
  windows = [window.relevant]
}
