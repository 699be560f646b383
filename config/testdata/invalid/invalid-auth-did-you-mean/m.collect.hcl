matter "m" {}

tenant {
  tenant_id = "contoso.onmicrosoft.com"
  client_id = "11111111-2222-3333-4444-555555555555"
  auth      = "device-code"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
