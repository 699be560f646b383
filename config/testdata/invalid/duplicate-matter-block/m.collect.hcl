matter "acme-v-globex" {}

matter "acme-v-globex-2" {
  time_zone = "UTC"
}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
