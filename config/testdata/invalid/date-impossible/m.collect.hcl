matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-02-30"
  end   = "2024-13-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
