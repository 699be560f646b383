matter "m" {}

tenant {
  cloud = "demo"
}

variable "secret" {
  type      = string
  sensitive = true
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
