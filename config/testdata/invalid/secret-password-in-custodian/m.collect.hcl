matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email    = "jane.doe@contoso.com"
  password = "hunter2"
}
