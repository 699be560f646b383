matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
}

custodain "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
