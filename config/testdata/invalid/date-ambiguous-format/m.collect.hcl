matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "01/02/2024"
  end   = "2024-7-1"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevant]
}
