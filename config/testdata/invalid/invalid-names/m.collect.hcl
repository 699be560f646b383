matter "m" {}

tenant {
  cloud = "demo"
}

window "1st-period" {
  start = "2024-01-01"
}

custodian "jane doe" {
  email = "jane.doe@contoso.com"
}

mailbox "" {
  address = "legal@contoso.com"
}

variable "review.start" {
  default = "2024-01-01"
}
