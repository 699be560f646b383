matter "m" {}

tenant {
  cloud = "demo"
}

backend "azure" {
  storage_account = "acmeevidence"
  container       = "acme-v-globex"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
