matter "m" {}

tenant {
  cloud = "demo"
}

variable "review_start" {
  type    = string
  default = "2024-01-01"
}

variable "lookback_days" {
  type    = number
  default = 90
}

window "relevant" {
  start = var.review_start
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
