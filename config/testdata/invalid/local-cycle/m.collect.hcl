matter "m" {}

tenant {
  cloud = "demo"
}

locals {
  start = local.begin
  begin = local.start
  email = "jane.doe@contoso.com"
}

window "relevant" {
  start = local.start
}

custodian "jdoe" {
  email   = local.email
  windows = [window.relevant]
}
