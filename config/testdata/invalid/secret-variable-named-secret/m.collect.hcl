matter "m" {}

tenant {
  cloud = "demo"
}

variable "secret" {
  type      = string
  sensitive = true
  default   = "p@ssw0rd-in-git"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
