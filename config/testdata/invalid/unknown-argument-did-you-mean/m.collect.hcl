matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
  ned   = "2024-07-01"
}

custodian "jdoe" {
  emial   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
