matter "m" {}

tenant {
  tenant_id = "contoso.onmicrosoft.com"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
