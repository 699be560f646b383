matter "m" {}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
