matter "m" {}

tenant {
  cloud = "demo"
}

locals {
  domain = "contoso.com"
}

locals {
  domain = "fabrikam.com"
}

custodian "jdoe" {
  email = "jane.doe@${local.domain}"
}
