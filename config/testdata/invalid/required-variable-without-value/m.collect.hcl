matter "m" {}

tenant {
  cloud = "demo"
}

variable "review_start" {
  type        = string
  description = "Start of the relevant period"
}

window "relevant" {
  start = var.review_start
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
