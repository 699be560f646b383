matter "m" {}

tenant {
  cloud = "demo"
}

variable "start" {
  type    = string
  default = "2024-01-01"
}

window "relevant" {
  start = vars.start
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
