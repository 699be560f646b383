matter "m" {
  time_zone = "America/NewYork"
}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email = "jane.doe@contoso.com"
}
