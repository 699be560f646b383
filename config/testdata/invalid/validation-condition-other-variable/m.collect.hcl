matter "m" {}

tenant {
  cloud = "demo"
}

variable "review_start" {
  type    = string
  default = "2024-01-01"
}

variable "review_end" {
  type    = string
  default = "2024-07-01"

  validation {
    condition     = var.review_end > var.review_start
    error_message = "review_end must come after review_start."
  }
}

window "relevant" {
  start = var.review_start
  end   = var.review_end
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
