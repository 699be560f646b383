matter "m" {}

tenant {
  cloud = "demo"
}

variable "lookback_days" {
  type    = number
  default = "ninety"
}

variable "custodians" {
  type    = list(string)
  default = "jdoe"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
