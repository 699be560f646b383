matter "m" {}

tenant {
  cloud = "demo"
}

locals {
  domain = "contoso.com"
}

window "relevant" {
  start = "2024-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@${local.domian}"
  windows = [window.relevant]
}

mailbox "legal" {
  address = "legal@${local.tenant_domain}"
}
