matter "m" {}

tenant {
  cloud = "demo"
}

locals {
  domain       = "contoso.com"
  access_token = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9"
}

custodian "jdoe" {
  email = "jane.doe@${local.domain}"
}
