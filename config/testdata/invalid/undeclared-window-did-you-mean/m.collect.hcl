matter "m" {}

tenant {
  cloud = "demo"
}

window "relevant" {
  start = "2024-01-01"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = [window.relevnt]
}

mailbox "legal" {
  address = "legal@contoso.com"
  windows = [window.post_hold]
}
