matter "m" {}

tenant {
  cloud = "demo"
}

custodian "jdoe" {
  email   = "jane.doe@contoso.com"
  windows = []
}

mailbox "legal" {
  address    = "legal@contoso.com"
  custodians = []
}
